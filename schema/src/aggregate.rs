//! Aggregates over normalised plays: everything the dashboards read, computed once.
//!
//! [`Stats::build`] is a pure function of plays and [`Settings`]; [`Stats::merge`] combines
//! the stats of disjoint sets of plays (files, uploads) into what building over their union
//! gives, so stats can be stored per upload and merged per selection.
//!
//! Attribution rules (DESIGN.md's data semantics):
//! - a stream ran from `end − ms_played` to `end`; hour, weekday and day views split its time
//!   across the local hours it covered, in the settings' time zone;
//! - counts of streams and plays, months, years and entities take the local time the stream
//!   ENDED (as Spotify's own yearly summaries do);
//! - a "play" is a stream of at least `min_play_ms`.

use std::collections::BTreeMap;

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;
use foldhash::HashMap;

use crate::model::{Country, Kind, Platform, Play, Strings, Sym};
use crate::time::{EpochMs, civil_from_days};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// What the viewer chose: where they are, what counts as a play, when a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Time zone for hours, days, weekdays and months.
    pub tz: Tz,
    /// A stream of at least this long is a play (default 30 s).
    pub min_play_ms: u64,
    /// A pause longer than this ends a listening session (default 30 min).
    pub session_gap_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tz: Tz::UTC,
            min_play_ms: 30_000,
            session_gap_ms: 30 * 60_000,
        }
    }
}

/// A month as `year * 12 + (month − 1)`, in the viewer's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month(pub i32);

impl Month {
    /// The calendar year.
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }
    /// The month, 1–12.
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }
    /// `YYYY-MM`.
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year(), self.month())
    }
}

/// A local calendar day as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(pub i32);

impl Day {
    /// Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> usize {
        (i64::from(self.0) + 3).rem_euclid(7) as usize
    }
    /// The civil date.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(i64::from(self.0))
    }
    /// `YYYY-MM-DD`.
    pub fn label(self) -> String {
        let (y, m, d) = self.ymd();
        format!("{y:04}-{m:02}-{d:02}")
    }
    /// The month this day is in.
    pub fn month(self) -> Month {
        let (y, m, _) = self.ymd();
        Month(y * 12 + m as i32 - 1)
    }
}

/// Listening time and counts for one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cell {
    /// Milliseconds played.
    pub ms: u64,
    /// Streams, whatever their length.
    pub streams: u64,
    /// Streams of at least the play threshold.
    pub plays: u64,
    /// Streams marked skipped.
    pub skips: u64,
}

impl Cell {
    /// One stream: its time, a stream, a play when it lasted `min_play_ms`, a skip when
    /// marked skipped.
    pub(crate) fn of(p: &Play, min_play_ms: u64) -> Cell {
        Cell {
            ms: p.ms_played,
            streams: 1,
            plays: u64::from(p.ms_played >= min_play_ms),
            skips: u64::from(p.skipped == Some(true)),
        }
    }

    pub(crate) fn add(&mut self, o: &Cell) {
        self.ms += o.ms;
        self.streams += o.streams;
        self.plays += o.plays;
        self.skips += o.skips;
    }
}

/// What an entity is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// An artist (album artist), from tracks.
    Artist,
    /// A track, named by artist and title.
    Track,
    /// An album, named by artist and album.
    Album,
    /// A podcast show.
    Show,
    /// A podcast episode, named by show and title.
    Episode,
    /// An audiobook.
    Audiobook,
}

/// Something a listener can rank: `name` is the artist, show or book for single-name entities;
/// `(owner, name)` for tracks, albums and episodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entity {
    /// What it is.
    pub kind: EntityKind,
    /// Artist or show for tracks, albums and episodes; none otherwise.
    pub owner: Sym,
    /// Its own name.
    pub name: Sym,
}

impl Entity {
    /// Calls `f` with each entity a stream counts for (DESIGN.md, "Identity"): a track's
    /// artist, track and album, an episode's show and episode, an audiobook.
    pub fn of(p: &Play, mut f: impl FnMut(Entity)) {
        let e = |kind, owner, name| Entity { kind, owner, name };
        match p.kind {
            Kind::Track => {
                if p.creator.is_some() {
                    f(e(EntityKind::Artist, Sym::NONE, p.creator));
                }
                if p.title.is_some() {
                    f(e(EntityKind::Track, p.creator, p.title));
                }
                if p.collection.is_some() {
                    f(e(EntityKind::Album, p.creator, p.collection));
                }
            }
            Kind::Episode => {
                if p.creator.is_some() {
                    f(e(EntityKind::Show, Sym::NONE, p.creator));
                }
                if p.title.is_some() {
                    f(e(EntityKind::Episode, p.creator, p.title));
                }
            }
            Kind::Audiobook => {
                if p.collection.is_some() {
                    f(e(EntityKind::Audiobook, Sym::NONE, p.collection));
                }
            }
            Kind::Unknown => {}
        }
    }
}

/// Counts of a tri-state flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Flag {
    /// Streams where the flag was true.
    pub yes: u64,
    /// Streams where it was false.
    pub no: u64,
    /// Streams where it was not recorded.
    pub unknown: u64,
}

impl Flag {
    pub(crate) fn count(&mut self, v: Option<bool>) {
        match v {
            Some(true) => self.yes += 1,
            Some(false) => self.no += 1,
            None => self.unknown += 1,
        }
    }
    fn add(&mut self, o: &Flag) {
        self.yes += o.yes;
        self.no += o.no;
        self.unknown += o.unknown;
    }
    /// Share of true among the streams where it was recorded.
    pub fn rate(&self) -> Option<f64> {
        let known = self.yes + self.no;
        (known > 0).then(|| self.yes as f64 / known as f64)
    }
}

/// A run of streams with no pause longer than the session gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// First stream's start.
    pub start_ms: EpochMs,
    /// Last stream's end.
    pub end_ms: EpochMs,
    /// Streams in it.
    pub streams: u64,
    /// Time played in it.
    pub ms: u64,
}

/// A run of consecutive local days with listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streak {
    /// First day.
    pub first: Day,
    /// Last day.
    pub last: Day,
}

impl Streak {
    /// Days in the streak.
    pub fn days(&self) -> i32 {
        self.last.0 - self.first.0 + 1
    }
}

/// When each artist and track was first heard: the end of its earliest stream.
pub type FirstHeard = HashMap<Entity, EpochMs>;

/// When each artist and track of `plays` (any order) was first heard, as
/// [`Stats::first_last`] has it, without building the stats: what a range's discoveries need
/// of all time.
pub fn first_heard<'a>(plays: impl IntoIterator<Item = &'a Play>) -> FirstHeard {
    let mut first = FirstHeard::default();
    for p in plays {
        Entity::of(p, |e| {
            if matches!(e.kind, EntityKind::Artist | EntityKind::Track) {
                let f = first.entry(e).or_insert(p.end_ms);
                *f = (*f).min(p.end_ms);
            }
        });
    }
    first
}

/// Everything the dashboards need, mergeable across disjoint sets of plays.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// The settings these stats were built with; only stats of equal settings merge.
    pub settings: Settings,
    /// All streams together.
    pub total: Cell,
    /// Per content kind.
    pub by_kind: BTreeMap<Kind, Cell>,
    /// Per local day: time split across days; counts on the day a stream ended.
    pub by_day: BTreeMap<Day, Cell>,
    /// Per month (all kinds, including rows without metadata).
    pub by_month: BTreeMap<Month, Cell>,
    /// `[weekday][hour]`, Monday first: time split across the hours covered; counts and skips
    /// at the hour a stream ended.
    pub hour_weekday: [[Cell; 24]; 7],
    /// Per month per entity.
    pub monthly: Monthly,
    /// First and last stream end of each entity.
    pub first_last: HashMap<Entity, (EpochMs, EpochMs)>,
    /// Streams per start reason.
    pub reason_start: HashMap<Sym, u64>,
    /// Streams per end reason.
    pub reason_end: HashMap<Sym, u64>,
    /// Per month per device family.
    pub platforms: BTreeMap<(Month, Platform), Cell>,
    /// Per month per country.
    pub countries: BTreeMap<(Month, Country), Cell>,
    /// Shuffle on.
    pub shuffle: Flag,
    /// Skipped.
    pub skipped: Flag,
    /// Offline.
    pub offline: Flag,
    /// Private session.
    pub incognito: Flag,
    /// Skipped streams by whole seconds played before the skip, capped at 60 (60 = "a minute
    /// or more").
    pub skip_seconds: [u64; 61],
    /// Earliest and latest stream end.
    pub span: Option<(EpochMs, EpochMs)>,
}

/// The earliest and latest of `span` and `t`.
fn widen(span: Option<(EpochMs, EpochMs)>, t: EpochMs) -> (EpochMs, EpochMs) {
    span.map_or((t, t), |(a, b)| (a.min(t), b.max(t)))
}

/// The UTC offset of a zone at an instant, in milliseconds.
pub fn offset_ms(tz: Tz, utc_ms: EpochMs) -> i64 {
    if tz == Tz::UTC {
        return 0;
    }
    match DateTime::from_timestamp_millis(utc_ms) {
        Some(dt) => {
            i64::from(
                tz.offset_from_utc_datetime(&dt.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ) * 1000
        }
        None => 0,
    }
}

/// The local day and hour of an instant.
pub fn local_day_hour(tz: Tz, utc_ms: EpochMs) -> (Day, usize) {
    let local = utc_ms + offset_ms(tz, utc_ms);
    (
        Day(local.div_euclid(DAY) as i32),
        (local.rem_euclid(DAY) / HOUR) as usize,
    )
}

/// Calls `f(day, hour, ms)` for each local hour `[start, end)` overlaps, with the time spent in
/// it. A daylight-saving change inside the stream is followed: the repeated hour of an
/// autumn night receives both of its real hours.
pub fn split_by_local_hour(tz: Tz, start: EpochMs, end: EpochMs, f: impl FnMut(Day, usize, u64)) {
    LocalClock::new(tz).split_by_hour(start, end, f);
}

/// A time zone's offsets, remembered for the UTC hour last asked about: plays come in time
/// order, so most instants fall in the hour before them and cost no look-up in the zone's
/// table of changes. Exact: an hour is remembered only when its first and last millisecond
/// have the same offset (no zone changes its clocks twice within an hour), so every answer is
/// [`offset_ms`]'s.
#[derive(Debug, Clone, Copy)]
pub struct LocalClock {
    tz: Tz,
    /// The UTC hour `[from, from + HOUR)` whose offset is `offset`.
    from: EpochMs,
    offset: i64,
}

impl LocalClock {
    /// A clock for `tz` that remembers nothing yet.
    pub fn new(tz: Tz) -> LocalClock {
        LocalClock {
            tz,
            from: i64::MIN,
            offset: 0,
        }
    }

    /// [`offset_ms`] of `utc_ms`.
    pub fn offset(&mut self, utc_ms: EpochMs) -> i64 {
        if self.tz == Tz::UTC {
            return 0;
        }
        let hour = utc_ms.div_euclid(HOUR) * HOUR;
        if hour == self.from {
            return self.offset;
        }
        let first = offset_ms(self.tz, hour);
        if first == offset_ms(self.tz, hour + HOUR - 1) {
            (self.from, self.offset) = (hour, first);
            first
        } else {
            offset_ms(self.tz, utc_ms)
        }
    }

    /// [`local_day_hour`] of `utc_ms`.
    pub fn day_hour(&mut self, utc_ms: EpochMs) -> (Day, usize) {
        let local = utc_ms + self.offset(utc_ms);
        (
            Day(local.div_euclid(DAY) as i32),
            (local.rem_euclid(DAY) / HOUR) as usize,
        )
    }

    /// [`split_by_local_hour`] through this clock.
    pub fn split_by_hour(
        &mut self,
        start: EpochMs,
        end: EpochMs,
        mut f: impl FnMut(Day, usize, u64),
    ) {
        let mut t = start;
        while t < end {
            let off = self.offset(t);
            let local = t + off;
            let next_local = local.div_euclid(HOUR) * HOUR + HOUR;
            let chunk_end = end.min(next_local - off);
            let (day, hour) = (
                Day(local.div_euclid(DAY) as i32),
                (local.rem_euclid(DAY) / HOUR) as usize,
            );
            f(day, hour, (chunk_end - t) as u64);
            t = chunk_end;
        }
    }
}

/// Listening per month per entity: the cells in order of month, then entity, each key once.
/// A list rather than a map: the builder produces it a month at a time, already in order
/// (hundreds of thousands of cells for a lifetime, where inserting each into a table was the
/// largest part of building the stats), and everything that reads it reads it whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Monthly(Vec<((Month, Entity), Cell)>);

impl Monthly {
    /// Cells, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, ((Month, Entity), Cell)> {
        self.0.iter()
    }

    /// How many (month, entity) cells.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The cells of the months `lo..=hi`.
    pub fn months(&self, lo: Month, hi: Month) -> &[((Month, Entity), Cell)] {
        let from = self.0.partition_point(|((m, _), _)| *m < lo);
        let to = self.0.partition_point(|((m, _), _)| *m <= hi);
        &self.0[from..to.max(from)]
    }

    /// Adds another's cells (of disjoint plays): one pass over both lists.
    pub fn merge(&mut self, o: &Monthly) {
        if o.0.is_empty() {
            return;
        }
        let mine = std::mem::take(&mut self.0);
        let mut out = Vec::with_capacity(mine.len() + o.0.len());
        let (mut a, mut b) = (mine.into_iter().peekable(), o.0.iter().copied().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => match x.0.cmp(&y.0) {
                    std::cmp::Ordering::Less => a.next(),
                    std::cmp::Ordering::Greater => b.next(),
                    std::cmp::Ordering::Equal => {
                        let (k, mut c) = a.next().expect("peeked");
                        c.add(&b.next().expect("peeked").1);
                        Some((k, c))
                    }
                },
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => break,
            };
            out.extend(next);
        }
        self.0 = out;
    }
}

impl FromIterator<((Month, Entity), Cell)> for Monthly {
    /// Cells in any order, a key any number of times.
    fn from_iter<I: IntoIterator<Item = ((Month, Entity), Cell)>>(cells: I) -> Monthly {
        let mut v: Vec<((Month, Entity), Cell)> = cells.into_iter().collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        let mut out: Vec<((Month, Entity), Cell)> = Vec::with_capacity(v.len());
        for (k, c) in v {
            match out.last_mut() {
                Some((last, cell)) if *last == k => cell.add(&c),
                _ => out.push((k, c)),
            }
        }
        Monthly(out)
    }
}

impl<'a> IntoIterator for &'a Monthly {
    type Item = &'a ((Month, Entity), Cell);
    type IntoIter = std::slice::Iter<'a, ((Month, Entity), Cell)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Builds [`Stats`] with the per-play work kept in small tables: days in a dense window,
/// content kinds in an array, and what counts per month (the month's total, its entities with
/// their first and last stream, its platforms and countries) in tables of the current month
/// only, added to the stats' own maps once when the month changes. Plays in time order (as a
/// prepared selection holds them) change month rarely; any order gives the same stats,
/// [`Stats::build_per_play`]'s.
struct Builder {
    s: Stats,
    clock: LocalClock,
    days: DayCells,
    kinds: [Cell; 4],
    month: Option<Month>,
    month_total: Cell,
    entities: HashMap<Entity, (Cell, EpochMs, EpochMs)>,
    /// The months ended so far, each one's entities in order; `in_order` while each month
    /// ended came after the one before.
    monthly: Vec<((Month, Entity), Cell)>,
    in_order: bool,
    platforms: Vec<(Platform, Cell)>,
    countries: Vec<(Country, Cell)>,
}

const KINDS: [Kind; 4] = [Kind::Track, Kind::Episode, Kind::Audiobook, Kind::Unknown];

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Track => 0,
        Kind::Episode => 1,
        Kind::Audiobook => 2,
        Kind::Unknown => 3,
    }
}

/// Adds `c` to the cell of `key` in a list of a few keys.
fn add_to<K: PartialEq>(list: &mut Vec<(K, Cell)>, key: K, c: &Cell) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, cell)) => cell.add(c),
        None => list.push((key, *c)),
    }
}

impl Builder {
    fn new(settings: Settings) -> Builder {
        Builder {
            s: Stats::new(settings),
            clock: LocalClock::new(settings.tz),
            days: DayCells::default(),
            kinds: [Cell::default(); 4],
            month: None,
            month_total: Cell::default(),
            entities: HashMap::default(),
            monthly: Vec::new(),
            in_order: true,
            platforms: Vec::new(),
            countries: Vec::new(),
        }
    }

    fn add(&mut self, p: &Play) {
        let counted = Cell::of(p, self.s.settings.min_play_ms);
        let counts_only = Cell { ms: 0, ..counted };
        let s = &mut self.s;

        s.total.add(&counted);
        self.kinds[kind_index(p.kind)].add(&counted);
        s.span = Some(widen(s.span, p.end_ms));

        let (end_day, end_hour) = self.clock.day_hour(p.end_ms);
        self.days.at(end_day).add(&counts_only);
        s.hour_weekday[end_day.weekday()][end_hour].add(&counts_only);
        let (days, hour_weekday) = (&mut self.days, &mut s.hour_weekday);
        self.clock
            .split_by_hour(p.start_ms(), p.end_ms, |day, hour, ms| {
                days.at(day).ms += ms;
                hour_weekday[day.weekday()][hour].ms += ms;
            });

        s.count_reasons_and_flags(p);

        let month = end_day.month();
        if self.month != Some(month) {
            self.end_month();
            self.month = Some(month);
        }
        self.month_total.add(&counted);
        let entities = &mut self.entities;
        Entity::of(p, |e| {
            let (cell, first, last) =
                entities
                    .entry(e)
                    .or_insert((Cell::default(), p.end_ms, p.end_ms));
            cell.add(&counted);
            *first = (*first).min(p.end_ms);
            *last = (*last).max(p.end_ms);
        });
        add_to(&mut self.platforms, p.platform, &counted);
        add_to(&mut self.countries, p.country, &counted);
    }

    /// Adds the current month's tables to the stats' maps and empties them.
    fn end_month(&mut self) {
        let Some(month) = self.month else {
            return;
        };
        let s = &mut self.s;
        s.by_month.entry(month).or_default().add(&self.month_total);
        self.month_total = Cell::default();
        if self.monthly.last().is_some_and(|((m, _), _)| *m >= month) {
            self.in_order = false;
        }
        let from = self.monthly.len();
        for (e, (c, first, last)) in self.entities.drain() {
            self.monthly.push(((month, e), c));
            let fl = s.first_last.entry(e).or_insert((first, last));
            fl.0 = fl.0.min(first);
            fl.1 = fl.1.max(last);
        }
        self.monthly[from..].sort_unstable_by_key(|((_, e), _)| {
            // One comparison of integers (the month is the same throughout).
            (u128::from(e.kind as u8) << 64) | (u128::from(e.owner.0) << 32) | u128::from(e.name.0)
        });
        for (k, c) in self.platforms.drain(..) {
            s.platforms.entry((month, k)).or_default().add(&c);
        }
        for (k, c) in self.countries.drain(..) {
            s.countries.entry((month, k)).or_default().add(&c);
        }
    }

    fn finish(mut self) -> Stats {
        self.end_month();
        for (kind, c) in KINDS.into_iter().zip(self.kinds) {
            if c.streams > 0 {
                self.s.by_kind.insert(kind, c);
            }
        }
        self.s.by_day = self.days.into_map();
        self.s.monthly = if self.in_order {
            Monthly(self.monthly)
        } else {
            self.monthly.into_iter().collect()
        };
        self.s
    }
}

/// Cells per local day: a dense window over the days seen, grown as needed up to
/// [`DENSE_DAYS`] days across, and a map for days beyond it (a history with a stray timestamp
/// centuries away stays small).
#[derive(Debug, Default)]
struct DayCells {
    first: i32,
    window: Vec<Cell>,
    beyond: BTreeMap<Day, Cell>,
}

/// The widest dense window of days: a lifetime of listening, 1 MiB of cells.
const DENSE_DAYS: i64 = 100 * 366;

impl DayCells {
    fn at(&mut self, day: Day) -> &mut Cell {
        if self.window.is_empty() {
            self.first = day.0;
        }
        let first = i64::from(self.first);
        let d = i64::from(day.0);
        let last = first + self.window.len() as i64 - 1;
        if d < first || d > last {
            let (lo, hi) = (first.min(d), last.max(d).max(first));
            if hi - lo >= DENSE_DAYS {
                return self.beyond.entry(day).or_default();
            }
            if d < first {
                // Room for a year more before, so plays in reverse order do not move the
                // window each day.
                let new_first = (d - 365).max(hi - DENSE_DAYS + 1);
                let extra = (first - new_first) as usize;
                self.window
                    .splice(0..0, std::iter::repeat_n(Cell::default(), extra));
                self.first = new_first as i32;
            } else {
                self.window
                    .resize((d - first + 1) as usize, Cell::default());
            }
        }
        &mut self.window[(d - i64::from(self.first)) as usize]
    }

    /// The days with anything counted, in order.
    fn into_map(self) -> BTreeMap<Day, Cell> {
        let first = self.first;
        let mut out = self.beyond;
        for (i, c) in self.window.into_iter().enumerate() {
            if c != Cell::default() {
                out.insert(Day(first + i as i32), c);
            }
        }
        out
    }
}

impl Stats {
    /// Empty stats for the given settings.
    pub fn new(settings: Settings) -> Stats {
        Stats {
            settings,
            total: Cell::default(),
            by_kind: BTreeMap::new(),
            by_day: BTreeMap::new(),
            by_month: BTreeMap::new(),
            hour_weekday: [[Cell::default(); 24]; 7],
            monthly: Monthly::default(),
            first_last: HashMap::default(),
            reason_start: HashMap::default(),
            reason_end: HashMap::default(),
            platforms: BTreeMap::new(),
            countries: BTreeMap::new(),
            shuffle: Flag::default(),
            skipped: Flag::default(),
            offline: Flag::default(),
            incognito: Flag::default(),
            skip_seconds: [0; 61],
            span: None,
        }
    }

    /// Aggregates plays (already deduplicated) under the given settings.
    pub fn build(plays: &[Play], settings: Settings) -> Stats {
        let mut b = Builder::new(settings);
        for p in plays {
            b.add(p);
        }
        b.finish()
    }

    /// [`Stats::build`] the plain way, each play added to every table it counts in: the
    /// reference the builder's shortcuts are held to (a property test compares the two).
    #[doc(hidden)]
    pub fn build_per_play(plays: &[Play], settings: Settings) -> Stats {
        let mut s = Stats::new(settings);
        let mut monthly = HashMap::default();
        for p in plays {
            s.add(p, &mut monthly);
        }
        s.monthly = monthly.into_iter().collect();
        s
    }

    /// [`Stats::build`] on all cores: consecutive parts of `plays` built on threads of their
    /// own and merged (the same stats, as a property test holds). For the large sets a first
    /// dashboard view builds; small sets are built on the calling thread.
    pub fn build_parallel(plays: &[Play], settings: Settings) -> Stats {
        const ALONE: usize = 20_000;
        let parts = rayon::current_num_threads().min(plays.len() / ALONE).max(1);
        if parts == 1 {
            return Stats::build(plays, settings);
        }
        let size = plays.len().div_ceil(parts);
        let built: Vec<Stats> = {
            use rayon::prelude::*;
            plays
                .par_chunks(size)
                .map(|part| Stats::build(part, settings))
                .collect()
        };
        let mut built = built.into_iter();
        let mut out = built.next().expect("at least one part");
        for part in built {
            out.merge(&part);
        }
        out
    }

    fn add(&mut self, p: &Play, monthly: &mut HashMap<(Month, Entity), Cell>) {
        let tz = self.settings.tz;
        let counted = Cell::of(p, self.settings.min_play_ms);
        let counts_only = Cell { ms: 0, ..counted };

        self.total.add(&counted);
        self.by_kind.entry(p.kind).or_default().add(&counted);
        self.span = Some(widen(self.span, p.end_ms));

        let (end_day, end_hour) = local_day_hour(tz, p.end_ms);
        self.by_day.entry(end_day).or_default().add(&counts_only);
        self.hour_weekday[end_day.weekday()][end_hour].add(&counts_only);
        split_by_local_hour(tz, p.start_ms(), p.end_ms, |day, hour, ms| {
            self.by_day.entry(day).or_default().ms += ms;
            self.hour_weekday[day.weekday()][hour].ms += ms;
        });

        let month = end_day.month();
        self.by_month.entry(month).or_default().add(&counted);
        Entity::of(p, |e| {
            monthly.entry((month, e)).or_default().add(&counted);
            let fl = self.first_last.entry(e).or_insert((p.end_ms, p.end_ms));
            fl.0 = fl.0.min(p.end_ms);
            fl.1 = fl.1.max(p.end_ms);
        });
        self.platforms
            .entry((month, p.platform))
            .or_default()
            .add(&counted);
        self.countries
            .entry((month, p.country))
            .or_default()
            .add(&counted);
        self.count_reasons_and_flags(p);
    }

    /// Counts a stream's start and end reasons, its four flags and, when it was skipped, the
    /// seconds before the skip: the same in both builders.
    fn count_reasons_and_flags(&mut self, p: &Play) {
        *self.reason_start.entry(p.reason_start).or_default() += 1;
        *self.reason_end.entry(p.reason_end).or_default() += 1;
        self.shuffle.count(p.shuffle);
        self.skipped.count(p.skipped);
        self.offline.count(p.offline);
        self.incognito.count(p.incognito);
        if p.skipped == Some(true) {
            self.skip_seconds[(p.ms_played / 1000).min(60) as usize] += 1;
        }
    }

    /// Adds the stats of a disjoint set of plays (built with the same settings and the same
    /// string table).
    ///
    /// # Panics
    /// If the settings differ: such stats do not describe the same buckets.
    pub fn merge(&mut self, o: &Stats) {
        assert_eq!(
            self.settings, o.settings,
            "stats built with different settings cannot merge"
        );
        self.total.add(&o.total);
        for (k, c) in &o.by_kind {
            self.by_kind.entry(*k).or_default().add(c);
        }
        for (k, c) in &o.by_day {
            self.by_day.entry(*k).or_default().add(c);
        }
        for (k, c) in &o.by_month {
            self.by_month.entry(*k).or_default().add(c);
        }
        for (row, orow) in self.hour_weekday.iter_mut().zip(&o.hour_weekday) {
            for (c, oc) in row.iter_mut().zip(orow) {
                c.add(oc);
            }
        }
        self.monthly.merge(&o.monthly);
        for (e, &(first, last)) in &o.first_last {
            let fl = self.first_last.entry(*e).or_insert((first, last));
            fl.0 = fl.0.min(first);
            fl.1 = fl.1.max(last);
        }
        for (k, n) in &o.reason_start {
            *self.reason_start.entry(*k).or_default() += n;
        }
        for (k, n) in &o.reason_end {
            *self.reason_end.entry(*k).or_default() += n;
        }
        for (k, c) in &o.platforms {
            self.platforms.entry(*k).or_default().add(c);
        }
        for (k, c) in &o.countries {
            self.countries.entry(*k).or_default().add(c);
        }
        self.shuffle.add(&o.shuffle);
        self.skipped.add(&o.skipped);
        self.offline.add(&o.offline);
        self.incognito.add(&o.incognito);
        for (a, b) in self.skip_seconds.iter_mut().zip(&o.skip_seconds) {
            *a += b;
        }
        self.span = match (self.span, o.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
    }

    /// Per year (of the local end time), from the monthly totals.
    pub fn by_year(&self) -> BTreeMap<i32, Cell> {
        let mut out: BTreeMap<i32, Cell> = BTreeMap::new();
        for (m, c) in &self.by_month {
            out.entry(m.year()).or_default().add(c);
        }
        out
    }

    /// Entities of a kind ranked by listening time or plays over the months in `range`
    /// (inclusive; all time when `None`), ties broken by the other measure, then by name.
    pub fn top(
        &self,
        kind: EntityKind,
        by: RankBy,
        range: Option<(Month, Month)>,
        strings: &Strings,
        n: usize,
    ) -> Vec<(Entity, Cell)> {
        let mut totals: HashMap<Entity, Cell> = HashMap::default();
        let cells = match range {
            Some((lo, hi)) => self.monthly.months(lo, hi),
            None => self.monthly.0.as_slice(),
        };
        for ((_, e), c) in cells {
            if e.kind == kind {
                totals.entry(*e).or_default().add(c);
            }
        }
        rank(totals.into_iter().collect(), by, strings, n)
    }

    /// [`Stats::top`] of each calendar year (local, of stream end) at once: one pass over the
    /// monthly cells instead of one per year. Years without entities of the kind are absent.
    pub fn top_per_year(
        &self,
        kind: EntityKind,
        by: RankBy,
        strings: &Strings,
        n: usize,
    ) -> BTreeMap<i32, Vec<(Entity, Cell)>> {
        rank_years(&self.year_totals(&[kind]), kind, by, strings, n)
    }

    /// Every entity's listening over all months, of all kinds at once: one pass over the
    /// monthly cells for several rankings of all time ([`rank_kind`]).
    pub fn entity_totals(&self) -> HashMap<Entity, Cell> {
        let mut totals: HashMap<Entity, Cell> =
            HashMap::with_capacity_and_hasher(self.first_last.len(), Default::default());
        for ((_, e), c) in &self.monthly {
            totals.entry(*e).or_default().add(c);
        }
        totals
    }

    /// Listening per calendar year per entity of the given kinds: one pass over the monthly
    /// cells for several kinds' rankings of each year ([`rank_years`]). The cells come in
    /// order of month, so a year's are together and one small table at a time sums them.
    pub(crate) fn year_totals(&self, kinds: &[EntityKind]) -> BTreeMap<i32, Vec<(Entity, Cell)>> {
        let mut out: BTreeMap<i32, Vec<(Entity, Cell)>> = BTreeMap::new();
        let mut year: HashMap<Entity, Cell> = HashMap::default();
        let mut current = None;
        let mut end_year = |current: Option<i32>, year: &mut HashMap<Entity, Cell>| {
            if let Some(y) = current
                && !year.is_empty()
            {
                out.entry(y).or_default().extend(year.drain());
            }
        };
        for ((m, e), c) in &self.monthly {
            if current != Some(m.year()) {
                end_year(current, &mut year);
                current = Some(m.year());
            }
            if kinds.contains(&e.kind) {
                year.entry(*e).or_default().add(c);
            }
        }
        end_year(current, &mut year);
        out
    }

    /// Distinct entities of a kind.
    pub fn distinct(&self, kind: EntityKind) -> usize {
        self.first_last.keys().filter(|e| e.kind == kind).count()
    }

    /// New entities of a kind per month (by their first stream's local month).
    pub fn discoveries(&self, kind: EntityKind) -> BTreeMap<Month, u64> {
        let mut out = BTreeMap::new();
        for (e, &(first, _)) in &self.first_last {
            if e.kind == kind {
                let (day, _) = local_day_hour(self.settings.tz, first);
                *out.entry(day.month()).or_default() += 1;
            }
        }
        out
    }

    /// Runs of consecutive local days with any listening, longest first (ties: latest first).
    pub fn streaks(&self) -> Vec<Streak> {
        streaks_of(
            self.by_day
                .iter()
                .filter(|(_, c)| c.ms > 0 || c.streams > 0)
                .map(|(&day, _)| day),
        )
    }

    /// Days with any listening.
    pub fn days_listened(&self) -> usize {
        self.by_day
            .values()
            .filter(|c| c.ms > 0 || c.streams > 0)
            .count()
    }
}

/// Runs of consecutive days among `days` (ascending, each once), longest first (ties: latest
/// first).
pub(crate) fn streaks_of(days: impl Iterator<Item = Day>) -> Vec<Streak> {
    let mut out: Vec<Streak> = Vec::new();
    for day in days {
        match out.last_mut() {
            Some(s) if s.last.0 + 1 == day.0 => s.last = day,
            _ => out.push(Streak {
                first: day,
                last: day,
            }),
        }
    }
    out.sort_by(|a, b| b.days().cmp(&a.days()).then(b.first.cmp(&a.first)));
    out
}

/// How to rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    /// By listening time.
    Time,
    /// By number of plays.
    Plays,
}

/// The first `n` entities of `kind` among [`Stats::entity_totals`], as [`Stats::top`] of all
/// time ranks them.
pub fn rank_kind(
    totals: &HashMap<Entity, Cell>,
    kind: EntityKind,
    by: RankBy,
    strings: &Strings,
    n: usize,
) -> Vec<(Entity, Cell)> {
    let of_kind = totals.iter().filter(|(e, _)| e.kind == kind);
    rank(of_kind.map(|(e, c)| (*e, *c)).collect(), by, strings, n)
}

/// Each year's first `n` entities of `kind` among [`Stats::year_totals`]; years without any
/// are absent.
pub(crate) fn rank_years(
    totals: &BTreeMap<i32, Vec<(Entity, Cell)>>,
    kind: EntityKind,
    by: RankBy,
    strings: &Strings,
    n: usize,
) -> BTreeMap<i32, Vec<(Entity, Cell)>> {
    totals
        .iter()
        .filter_map(|(year, cells)| {
            let of_kind: Vec<(Entity, Cell)> = cells
                .iter()
                .filter(|(e, _)| e.kind == kind)
                .copied()
                .collect();
            (!of_kind.is_empty()).then(|| (*year, rank(of_kind, by, strings, n)))
        })
        .collect()
}

/// The first `n` entities by `by`, ties broken by the other measure, then by name and owner.
pub(crate) fn rank(
    mut v: Vec<(Entity, Cell)>,
    by: RankBy,
    strings: &Strings,
    n: usize,
) -> Vec<(Entity, Cell)> {
    if n == 0 {
        return Vec::new();
    }
    let key = |c: &Cell| match by {
        RankBy::Time => (c.ms, c.plays),
        RankBy::Plays => (c.plays, c.ms),
    };
    // A total order, as distinct entities of a kind differ in name or owner: selecting the
    // first n (linear) and sorting only those gives what sorting everything would.
    let order = |(ea, a): &(Entity, Cell), (eb, b): &(Entity, Cell)| {
        key(b).cmp(&key(a)).then_with(|| {
            (strings.get(ea.name), strings.get(ea.owner))
                .cmp(&(strings.get(eb.name), strings.get(eb.owner)))
        })
    };
    if v.len() > n {
        v.select_nth_unstable_by(n - 1, order);
        v.truncate(n);
    }
    v.sort_by(order);
    v
}

/// Sessions over plays in any order.
pub fn sessions(plays: &[Play], gap_ms: i64) -> Vec<Session> {
    let mut spans: Vec<Session> = plays
        .iter()
        .map(|p| Session {
            start_ms: p.start_ms(),
            end_ms: p.end_ms,
            streams: 1,
            ms: p.ms_played,
        })
        .collect();
    // Plays usually come in time order, so nearly in order of start: the stable sort finds
    // the runs already sorted.
    spans.sort_by_key(|s| (s.start_ms, s.end_ms));
    coalesce(spans, gap_ms)
}

/// How many sessions [`sessions`] finds, without building them: a summary needs only the
/// count, and sorting 16-byte spans instead of 32-byte sessions halves the memory touched.
pub(crate) fn session_count(plays: &[Play], gap_ms: i64) -> usize {
    let mut spans: Vec<(EpochMs, EpochMs)> =
        plays.iter().map(|p| (p.start_ms(), p.end_ms)).collect();
    spans.sort_unstable();
    let mut spans = spans.into_iter();
    let Some((_, mut end)) = spans.next() else {
        return 0;
    };
    let mut count = 1;
    for (start, e) in spans {
        if start - end <= gap_ms {
            end = end.max(e);
        } else {
            count += 1;
            end = e;
        }
    }
    count
}

fn coalesce(sorted: Vec<Session>, gap_ms: i64) -> Vec<Session> {
    let mut out: Vec<Session> = Vec::new();
    for s in sorted {
        match out.last_mut() {
            Some(cur) if s.start_ms - cur.end_ms <= gap_ms => {
                cur.end_ms = cur.end_ms.max(s.end_ms);
                cur.streams += s.streams;
                cur.ms += s.ms;
            }
            _ => out.push(s),
        }
    }
    out
}

/// Merges two session lists as if the sessions had been computed over all plays at once.
pub fn merge_sessions(a: &[Session], b: &[Session], gap_ms: i64) -> Vec<Session> {
    let mut all: Vec<Session> = a.iter().chain(b).copied().collect();
    all.sort_unstable_by_key(|s| (s.start_ms, s.end_ms));
    coalesce(all, gap_ms)
}

/// [`Stats`] in a self-contained, serialisable form: names instead of symbols, lists instead
/// of maps. This is what the database stores per set of plays, and what any process can load
/// back onto its own string table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatsDoc {
    /// Time zone name.
    pub tz: String,
    /// Play threshold.
    pub min_play_ms: u64,
    /// Session gap.
    pub session_gap_ms: i64,
    /// Every name the document uses, once; entries refer to them by index (0 is "none").
    pub names: Vec<String>,
    /// `[ms, streams, plays, skips]` of everything.
    pub total: [u64; 4],
    /// Per kind.
    pub by_kind: Vec<(Kind, [u64; 4])>,
    /// Per local day number.
    pub by_day: Vec<(i32, [u64; 4])>,
    /// Per month number.
    pub by_month: Vec<(i32, [u64; 4])>,
    /// 7 × 24 cells.
    pub hour_weekday: Vec<[u64; 4]>,
    /// `(month, kind, owner, name, cell)`.
    pub monthly: Vec<(i32, EntityKind, u32, u32, [u64; 4])>,
    /// `(kind, owner, name, first, last)`.
    pub first_last: Vec<(EntityKind, u32, u32, EpochMs, EpochMs)>,
    /// Start reasons.
    pub reason_start: Vec<(u32, u64)>,
    /// End reasons.
    pub reason_end: Vec<(u32, u64)>,
    /// `(month, platform, cell)`.
    pub platforms: Vec<(i32, Platform, [u64; 4])>,
    /// `(month, country, cell)`.
    pub countries: Vec<(i32, String, [u64; 4])>,
    /// `[yes, no, unknown]` of shuffle, skipped, offline, incognito.
    pub flags: [[u64; 3]; 4],
    /// Skip-time histogram.
    pub skip_seconds: Vec<u64>,
    /// First and last stream end.
    pub span: Option<(EpochMs, EpochMs)>,
}

fn cell4(c: &Cell) -> [u64; 4] {
    [c.ms, c.streams, c.plays, c.skips]
}

fn from4(a: [u64; 4]) -> Cell {
    Cell {
        ms: a[0],
        streams: a[1],
        plays: a[2],
        skips: a[3],
    }
}

fn flag3(f: &Flag) -> [u64; 3] {
    [f.yes, f.no, f.unknown]
}

fn from3(a: [u64; 3]) -> Flag {
    Flag {
        yes: a[0],
        no: a[1],
        unknown: a[2],
    }
}

impl Stats {
    /// The self-contained form, with names from `strings`.
    pub fn to_doc(&self, strings: &Strings) -> StatsDoc {
        let mut names = vec![String::new()];
        let mut index: HashMap<Sym, u32> = HashMap::default();
        let mut name = |s: Sym| -> u32 {
            if !s.is_some() {
                return 0;
            }
            *index.entry(s).or_insert_with(|| {
                names.push(strings.get(s).to_string());
                (names.len() - 1) as u32
            })
        };
        let monthly = self
            .monthly
            .iter()
            .map(|((m, e), c)| (m.0, e.kind, name(e.owner), name(e.name), cell4(c)))
            .collect();
        let first_last = self
            .first_last
            .iter()
            .map(|(e, (a, b))| (e.kind, name(e.owner), name(e.name), *a, *b))
            .collect();
        let reason_start = self
            .reason_start
            .iter()
            .map(|(k, n)| (name(*k), *n))
            .collect();
        let reason_end = self
            .reason_end
            .iter()
            .map(|(k, n)| (name(*k), *n))
            .collect();
        StatsDoc {
            tz: self.settings.tz.name().to_string(),
            min_play_ms: self.settings.min_play_ms,
            session_gap_ms: self.settings.session_gap_ms,
            total: cell4(&self.total),
            by_kind: self.by_kind.iter().map(|(k, c)| (*k, cell4(c))).collect(),
            by_day: self.by_day.iter().map(|(d, c)| (d.0, cell4(c))).collect(),
            by_month: self.by_month.iter().map(|(m, c)| (m.0, cell4(c))).collect(),
            hour_weekday: self.hour_weekday.iter().flatten().map(cell4).collect(),
            names,
            monthly,
            first_last,
            reason_start,
            reason_end,
            platforms: self
                .platforms
                .iter()
                .map(|((m, p), c)| (m.0, *p, cell4(c)))
                .collect(),
            countries: self
                .countries
                .iter()
                .map(|((m, k), c)| (m.0, k.as_str().to_string(), cell4(c)))
                .collect(),
            flags: [
                flag3(&self.shuffle),
                flag3(&self.skipped),
                flag3(&self.offline),
                flag3(&self.incognito),
            ],
            skip_seconds: self.skip_seconds.to_vec(),
            span: self.span,
        }
    }

    /// Loads a document onto `strings`.
    pub fn from_doc(doc: &StatsDoc, strings: &mut Strings) -> Result<Stats, String> {
        let tz: Tz = doc
            .tz
            .parse()
            .map_err(|_| format!("unknown time zone {:?}", doc.tz))?;
        if doc.hour_weekday.len() != 7 * 24 || doc.skip_seconds.len() != 61 {
            return Err("stats document has the wrong shape".into());
        }
        let mut s = Stats::new(Settings {
            tz,
            min_play_ms: doc.min_play_ms,
            session_gap_ms: doc.session_gap_ms,
        });
        let syms: Vec<Sym> = doc
            .names
            .iter()
            .map(|t| {
                if t.is_empty() {
                    Sym::NONE
                } else {
                    strings.intern(t)
                }
            })
            .collect();
        let sym = |i: u32| {
            syms.get(i as usize)
                .copied()
                .ok_or_else(|| format!("stats document names #{i}, which it lacks"))
        };
        s.total = from4(doc.total);
        s.by_kind = doc.by_kind.iter().map(|(k, c)| (*k, from4(*c))).collect();
        s.by_day = doc
            .by_day
            .iter()
            .map(|(d, c)| (Day(*d), from4(*c)))
            .collect();
        s.by_month = doc
            .by_month
            .iter()
            .map(|(m, c)| (Month(*m), from4(*c)))
            .collect();
        for (i, c) in doc.hour_weekday.iter().enumerate() {
            s.hour_weekday[i / 24][i % 24] = from4(*c);
        }
        s.monthly = doc
            .monthly
            .iter()
            .map(|(m, kind, owner, name, c)| {
                Ok((
                    (
                        Month(*m),
                        Entity {
                            kind: *kind,
                            owner: sym(*owner)?,
                            name: sym(*name)?,
                        },
                    ),
                    from4(*c),
                ))
            })
            .collect::<Result<_, String>>()?;
        s.first_last = doc
            .first_last
            .iter()
            .map(|(kind, owner, name, a, b)| {
                Ok((
                    Entity {
                        kind: *kind,
                        owner: sym(*owner)?,
                        name: sym(*name)?,
                    },
                    (*a, *b),
                ))
            })
            .collect::<Result<_, String>>()?;
        s.reason_start = doc
            .reason_start
            .iter()
            .map(|(k, n)| Ok((sym(*k)?, *n)))
            .collect::<Result<_, String>>()?;
        s.reason_end = doc
            .reason_end
            .iter()
            .map(|(k, n)| Ok((sym(*k)?, *n)))
            .collect::<Result<_, String>>()?;
        s.platforms = doc
            .platforms
            .iter()
            .map(|(m, p, c)| ((Month(*m), *p), from4(*c)))
            .collect();
        s.countries = doc
            .countries
            .iter()
            .map(|(m, k, c)| ((Month(*m), Country::parse(k)), from4(*c)))
            .collect();
        let [a, b, c, d] = doc.flags;
        (s.shuffle, s.skipped, s.offline, s.incognito) = (from3(a), from3(b), from3(c), from3(d));
        s.skip_seconds.copy_from_slice(&doc.skip_seconds);
        s.span = doc.span;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_spotify_ts;

    fn at(s: &str) -> EpochMs {
        parse_spotify_ts(s).unwrap()
    }

    fn play(strings: &mut Strings, end: &str, minutes: u64, artist: &str, track: &str) -> Play {
        crate::testing::track(strings, at(end), minutes * 60_000, artist, track)
    }

    fn tz(name: &str) -> Settings {
        Settings {
            tz: name.parse().unwrap(),
            ..Settings::default()
        }
    }

    #[test]
    fn days_centuries_apart_are_all_counted_whatever_the_order() {
        let mut s = Strings::default();
        let mut plays = vec![
            play(&mut s, "2024-03-04T00:30:00Z", 90, "A", "t"),
            play(&mut s, "1975-06-01T12:00:00Z", 3, "B", "u"),
            play(&mut s, "2301-01-01T08:00:00Z", 4, "A", "t"),
            play(&mut s, "2024-03-02T10:00:00Z", 5, "C", "v"),
            play(&mut s, "1900-12-31T23:59:00Z", 6, "C", "w"),
        ];
        for _ in 0..plays.len() {
            let st = Stats::build(&plays, tz("Europe/Berlin"));
            assert_eq!(st, Stats::build_per_play(&plays, tz("Europe/Berlin")));
            // One local day each (the first stream is 00:00–01:30 in Berlin), four centuries
            // apart: more than the dense window holds.
            assert_eq!(st.by_day.len(), 5);
            plays.rotate_left(1);
        }
    }

    #[test]
    fn a_stream_across_midnight_is_split_between_the_two_days_and_hours() {
        let mut s = Strings::default();
        // Sunday 2024-03-03 23:00 → Monday 00:30 UTC.
        let p = play(&mut s, "2024-03-04T00:30:00Z", 90, "A", "t");
        let st = Stats::build(&[p], Settings::default());
        let sunday = Day(days("2024-03-03"));
        let monday = Day(days("2024-03-04"));
        assert_eq!((sunday.weekday(), monday.weekday()), (6, 0));
        assert_eq!(st.by_day[&sunday].ms, 60 * 60_000);
        assert_eq!(st.by_day[&monday].ms, 30 * 60_000);
        assert_eq!(
            (st.by_day[&sunday].streams, st.by_day[&monday].streams),
            (0, 1)
        );
        assert_eq!(st.hour_weekday[6][23].ms, 60 * 60_000);
        assert_eq!(st.hour_weekday[0][0].ms, 30 * 60_000);
        assert_eq!(st.hour_weekday[0][0].plays, 1);
    }

    fn days(ymd: &str) -> i32 {
        (at(&format!("{ymd}T00:00:00Z")) / DAY) as i32
    }

    #[test]
    fn the_repeated_autumn_hour_receives_both_real_hours() {
        let mut s = Strings::default();
        // Berlin falls back at 03:00 CEST (01:00 UTC) on 2024-10-27: 00:30–01:30 UTC is
        // 02:30 CEST → 02:30 CET, an hour spent entirely in local hour 2.
        let p = play(&mut s, "2024-10-27T01:30:00Z", 60, "A", "t");
        let st = Stats::build(&[p], tz("Europe/Berlin"));
        assert_eq!(st.hour_weekday[6][2].ms, 60 * 60_000);
        assert_eq!(
            st.hour_weekday[6].iter().map(|c| c.ms).sum::<u64>(),
            60 * 60_000
        );
    }

    #[test]
    fn the_skipped_spring_hour_receives_nothing() {
        let mut s = Strings::default();
        // 2024-03-31 00:30–01:30 UTC in Berlin is 01:30 CET → 03:30 CEST.
        let p = play(&mut s, "2024-03-31T01:30:00Z", 60, "A", "t");
        let st = Stats::build(&[p], tz("Europe/Berlin"));
        let sunday = &st.hour_weekday[6];
        assert_eq!(
            (sunday[1].ms, sunday[2].ms, sunday[3].ms),
            (30 * 60_000, 0, 30 * 60_000)
        );
    }

    #[test]
    fn half_hour_zones_split_at_their_own_hour_boundaries() {
        let mut s = Strings::default();
        // 00:00–01:00 UTC is 05:30–06:30 in Kolkata.
        let p = play(&mut s, "2024-05-01T01:00:00Z", 60, "A", "t");
        let st = Stats::build(&[p], tz("Asia/Kolkata"));
        let wed = &st.hour_weekday[2];
        assert_eq!((wed[5].ms, wed[6].ms), (30 * 60_000, 30 * 60_000));
    }

    #[test]
    fn months_and_years_follow_the_viewers_zone() {
        let mut s = Strings::default();
        // 23:30 UTC on New Year's Eve is already next year in Stockholm.
        let p = play(&mut s, "2023-12-31T23:30:00Z", 3, "A", "t");
        let utc = Stats::build(&[p], Settings::default());
        let sthlm = Stats::build(&[p], tz("Europe/Stockholm"));
        assert_eq!(utc.by_year().keys().copied().collect::<Vec<_>>(), [2023]);
        assert_eq!(sthlm.by_year().keys().copied().collect::<Vec<_>>(), [2024]);
    }

    #[test]
    fn the_play_threshold_decides_what_counts_as_a_play() {
        let mut s = Strings::default();
        let mut short = play(&mut s, "2024-01-01T10:00:00Z", 0, "A", "t");
        short.ms_played = 29_999;
        let mut long = short;
        long.end_ms += 60_000;
        long.ms_played = 30_000;
        let st = Stats::build(&[short, long], Settings::default());
        assert_eq!((st.total.streams, st.total.plays), (2, 1));
        let strict = Stats::build(
            &[short, long],
            Settings {
                min_play_ms: 60_000,
                ..Settings::default()
            },
        );
        assert_eq!(strict.total.plays, 0);
    }

    #[test]
    fn stats_built_on_all_cores_equal_stats_built_on_one() {
        let mut s = Strings::default();
        let artists: Vec<Sym> = (0..40).map(|i| s.intern(&format!("artist {i}"))).collect();
        let tracks: Vec<Sym> = (0..400).map(|i| s.intern(&format!("track {i}"))).collect();
        // 60,000 streams over five years, some back to back (sessions across the parts).
        let plays: Vec<Play> = (0..60_000i64)
            .map(|i| {
                let mut p = Play::bare(
                    1_500_000_000_000 + i * 2_600_000 + (i % 7) * 13_000,
                    ((i * 7_919) % 400_000) as u64,
                    Kind::Track,
                    crate::Source::Extended,
                    [
                        tracks[(i * 31 % 400) as usize],
                        artists[(i * 17 % 40) as usize],
                        Sym::NONE,
                    ],
                );
                p.skipped = (i % 5 == 0).then_some(i % 10 == 0);
                p
            })
            .collect();
        let settings = Settings {
            tz: "Europe/Berlin".parse().unwrap(),
            min_play_ms: 30_000,
            session_gap_ms: 30 * 60_000,
        };
        let one = Stats::build(&plays, settings);
        let all = Stats::build_parallel(&plays, settings);
        // Field by field (the maps' iteration order differs; a failure names the field).
        let same = [
            ("total", all.total == one.total),
            ("by_kind", all.by_kind == one.by_kind),
            ("by_day", all.by_day == one.by_day),
            ("by_month", all.by_month == one.by_month),
            ("hour_weekday", all.hour_weekday == one.hour_weekday),
            ("monthly", all.monthly == one.monthly),
            ("first_last", all.first_last == one.first_last),
            (
                "reasons",
                all.reason_start == one.reason_start && all.reason_end == one.reason_end,
            ),
            ("platforms", all.platforms == one.platforms),
            ("countries", all.countries == one.countries),
            (
                "flags",
                [all.shuffle, all.skipped, all.offline, all.incognito]
                    == [one.shuffle, one.skipped, one.offline, one.incognito],
            ),
            ("skip_seconds", all.skip_seconds == one.skip_seconds),
            ("span", all.span == one.span),
        ];
        for (field, same) in same {
            assert!(same, "{field} differs");
        }
        assert_eq!(all.total.streams, 60_000);
    }

    #[test]
    fn rankings_streaks_and_discoveries() {
        let mut s = Strings::default();
        let plays = [
            play(&mut s, "2024-01-01T10:00:00Z", 5, "A", "a1"),
            play(&mut s, "2024-01-02T10:00:00Z", 5, "A", "a2"),
            play(&mut s, "2024-01-03T10:00:00Z", 12, "B", "b1"),
            play(&mut s, "2024-02-10T10:00:00Z", 1, "C", "c1"),
            play(&mut s, "2024-02-11T10:00:00Z", 1, "A", "a1"),
        ];
        let st = Stats::build(&plays, Settings::default());
        let by_time: Vec<&str> = st
            .top(EntityKind::Artist, RankBy::Time, None, &s, 10)
            .iter()
            .map(|(e, _)| s.get(e.name))
            .collect();
        assert_eq!(by_time, ["B", "A", "C"]);
        let by_plays: Vec<&str> = st
            .top(EntityKind::Artist, RankBy::Plays, None, &s, 10)
            .iter()
            .map(|(e, _)| s.get(e.name))
            .collect();
        assert_eq!(by_plays, ["A", "B", "C"]);
        let feb = Month(2024 * 12 + 1);
        let in_feb: Vec<&str> = st
            .top(EntityKind::Artist, RankBy::Time, Some((feb, feb)), &s, 10)
            .iter()
            .map(|(e, _)| s.get(e.name))
            .collect();
        assert_eq!(in_feb, ["A", "C"], "ties on time are broken by name");
        let streaks = st.streaks();
        assert_eq!(
            (streaks[0].days(), streaks[0].first.label()),
            (3, "2024-01-01".to_string())
        );
        assert_eq!(streaks[1].days(), 2);
        let new_artists = st.discoveries(EntityKind::Artist);
        assert_eq!(new_artists[&Month(2024 * 12)], 2);
        assert_eq!(new_artists[&feb], 1);
        assert_eq!(st.days_listened(), 5);
    }

    #[test]
    fn stats_survive_a_round_trip_through_their_document() {
        let mut s = Strings::default();
        let plays = [
            play(&mut s, "2024-01-01T10:00:00Z", 5, "A", "a1"),
            play(&mut s, "2024-02-11T23:10:00Z", 1, "Ångström <b>", "a\"1"),
        ];
        let st = Stats::build(&plays, tz("Europe/Berlin"));
        let json = serde_json::to_string(&st.to_doc(&s)).unwrap();
        let doc: StatsDoc = serde_json::from_str(&json).unwrap();
        let back = Stats::from_doc(&doc, &mut s).unwrap();
        assert_eq!(back, st);
    }

    #[test]
    fn sessions_end_at_a_long_pause_and_merge_across_files() {
        let mut s = Strings::default();
        let a = play(&mut s, "2024-01-01T10:05:00Z", 5, "A", "x");
        let b = play(&mut s, "2024-01-01T10:20:00Z", 5, "A", "y");
        let c = play(&mut s, "2024-01-01T12:00:00Z", 5, "A", "z");
        let settings = Settings::default();
        let gap = settings.session_gap_ms;
        let all = sessions(&[c, b, a], gap);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].streams, 2);
        // Counting alone gives the same, in any order of the plays.
        assert_eq!(session_count(&[c, a, b], gap), 2);
        assert_eq!(session_count(&[c, a], gap), 2);
        assert_eq!(session_count(&[b, a], gap), 1);
        assert_eq!(session_count(&[], gap), 0);
        // Sessions of two files merged are those of both at once.
        assert_eq!(
            merge_sessions(&sessions(&[a, c], gap), &sessions(&[b], gap), gap),
            all
        );
    }

    #[test]
    fn top_per_year_ranks_each_year_as_top_over_its_months() {
        let mut s = Strings::default();
        let plays = [
            play(&mut s, "2023-03-01T10:00:00Z", 5, "A", "x"),
            play(&mut s, "2023-12-31T23:00:00Z", 5, "B", "y"),
            play(&mut s, "2023-06-01T10:00:00Z", 5, "B", "z"),
            play(&mut s, "2024-01-01T00:30:00Z", 9, "A", "x"),
            play(&mut s, "2024-05-01T10:00:00Z", 2, "C", "w"),
            play(&mut s, "2024-05-02T10:00:00Z", 7, "C", "v"),
        ];
        let st = Stats::build(&plays, tz("Europe/Berlin"));
        for kind in [EntityKind::Artist, EntityKind::Track] {
            for by in [RankBy::Time, RankBy::Plays] {
                for n in [0, 1, 2, 5] {
                    let per_year = st.top_per_year(kind, by, &s, n);
                    assert_eq!(per_year.keys().copied().collect::<Vec<_>>(), [2023, 2024]);
                    for (&year, top) in &per_year {
                        let range = Some((Month(year * 12), Month(year * 12 + 11)));
                        assert_eq!(
                            top,
                            &st.top(kind, by, range, &s, n),
                            "{kind:?} {by:?} {n} {year}"
                        );
                    }
                }
            }
        }
        // 2023-12-31T23:00Z is 2024 in Berlin, so 2023 is a tie of A and B (5 minutes, one play
        // each) that the name breaks; in 2024 C's two plays break its tie with A (9 minutes).
        let top = st.top_per_year(EntityKind::Artist, RankBy::Time, &s, 1);
        assert_eq!(s.get(top[&2023][0].0.name), "A");
        assert_eq!(s.get(top[&2024][0].0.name), "C");
    }
}
