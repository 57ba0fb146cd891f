//! What the dashboards are computed from, kept in memory: for one user and one selection of
//! their uploads, every stream that counts for the selection (each once, by the same region
//! rule as the stored stats), sorted by time, with each stream's local day; and the [`Stats`]
//! of any range and content kind, built on first use and kept.
//!
//! An entry is keyed by the user's `stats_version` (bumped by every ingest, delete and settings
//! change), time zone and play threshold, so a stale entry is never served: the next request
//! after a change builds a new one. Building reads the user's plays once (about a second for a
//! 300,000-play lifetime); every later view of that selection is computed from memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use schema::aggregate::Day;
use schema::{Kind, Play, Settings, Stats, Strings};
use storage::users::User;
use tokio::sync::OnceCell;

use crate::AppState;
use crate::error::AppError;

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
    memo: Mutex<HashMap<String, Arc<dyn std::any::Any + Send + Sync>>>,
}

/// A content kind and the local day numbers of a range's ends.
type RangeKey = (Content, Option<i32>, Option<i32>);

/// Ranges (and computed views) kept per selection before they are dropped: with rendered
/// dashboards of up to ~0.3 MB each, a selection's memo stays under ~25 MB.
const RANGES_KEPT: usize = 64;

impl Prepared {
    /// Prepares `plays` (any order) for `settings`.
    pub fn new(mut plays: Vec<Play>, strings: Strings, settings: Settings) -> Prepared {
        plays.sort_by_key(|p| p.end_ms);
        let days = plays
            .iter()
            .map(|p| schema::aggregate::local_day_hour(settings.tz, p.end_ms).0.0)
            .collect();
        Prepared {
            strings,
            plays,
            days,
            settings,
            stats: Mutex::new(HashMap::new()),
            memo: Mutex::new(HashMap::new()),
        }
    }

    /// About how many bytes the selection holds: its plays, days and names, and an allowance
    /// for the stats and views it keeps (stats are tables keyed by the names they count, so
    /// twice the names; the views are rendered pages, a few MB in all).
    pub fn bytes(&self) -> usize {
        self.plays.capacity() * std::mem::size_of::<Play>()
            + self.days.capacity() * 4
            + 3 * self.strings.bytes()
            + (4 << 20)
    }

    /// The plays that ended on the local days of `range`.
    pub fn slice(&self, range: DayRange) -> &[Play] {
        let lo = range
            .0
            .map_or(0, |d| self.days.partition_point(|&x| x < d.0));
        let hi = range.1.map_or(self.days.len(), |d| {
            self.days.partition_point(|&x| x <= d.0)
        });
        &self.plays[lo..hi.max(lo)]
    }

    /// The first and last local day with a stream.
    pub fn span(&self) -> Option<(Day, Day)> {
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

/// User id, selection, stats version, time zone, play threshold.
type Key = (String, String, i64, String, i64);

/// An entry: when it was last used, its size once built, and the selection (built once,
/// however many ask).
struct Entry {
    used: u64,
    bytes: usize,
    cell: Arc<OnceCell<Arc<Prepared>>>,
}

/// The key of a user's selection in the state their data is in now.
fn key(user: &User, upload_ids: &[String]) -> Key {
    let mut ids = upload_ids.to_vec();
    ids.sort();
    (
        user.id.clone(),
        ids.join(","),
        user.stats_version,
        user.tz.clone(),
        user.min_play_ms,
    )
}

/// Prepared selections in memory, bounded by their size in bytes (not by their number): the
/// least recently used are dropped first when a new one would pass the budget. A selection
/// larger than the whole budget is still served, and dropped as soon as another arrives.
#[derive(Debug)]
pub struct DashCache {
    entries: Mutex<HashMap<Key, Entry>>,
    clock: std::sync::atomic::AtomicU64,
    budget: usize,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("used", &self.used)
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// The cache's default budget: 512 MiB, about 9 prepared lifetimes of 300,000 streams (53 MB
/// each by [`Prepared::bytes`]) or 25 of 100,000.
pub const DEFAULT_BUDGET: usize = 512 << 20;

impl Default for DashCache {
    fn default() -> DashCache {
        DashCache::new(DEFAULT_BUDGET)
    }
}

impl DashCache {
    /// A cache holding prepared selections up to `budget` bytes.
    pub fn new(budget: usize) -> DashCache {
        DashCache {
            entries: Mutex::new(HashMap::new()),
            clock: std::sync::atomic::AtomicU64::new(0),
            budget,
        }
    }

    /// Bytes held by the selections built so far.
    pub fn bytes(&self) -> usize {
        self.entries
            .lock()
            .expect("cache lock")
            .values()
            .map(|e| e.bytes)
            .sum()
    }

    /// Starts preparing the selection in the background unless it is prepared or being
    /// prepared: called when an upload is seen ready, so that the dashboard the user opens
    /// next is already in memory.
    pub fn warm(&self, state: &AppState, user: &User, upload_ids: Vec<String>) {
        let key = key(user, &upload_ids);
        if self.entries.lock().expect("cache lock").contains_key(&key) {
            return;
        }
        let (state, user) = (state.clone(), user.clone());
        tokio::spawn(async move {
            if let Err(e) = state.dash().get(&state, &user, &upload_ids).await {
                tracing::warn!(user = %user.id, error = %e, "preparing a dashboard in advance failed");
            }
        });
    }

    /// The prepared selection for `user` and `upload_ids` (sorted, the ones that count),
    /// building it when missing or stale; concurrent requests for the same one build it once.
    /// The building runs on a task of its own, so a request that gives up (its deadline)
    /// leaves it to finish for the next one.
    pub async fn get(
        &self,
        state: &AppState,
        user: &User,
        upload_ids: &[String],
    ) -> Result<Arc<Prepared>, AppError> {
        let mut ids = upload_ids.to_vec();
        ids.sort();
        let key = key(user, &ids);
        let tick = self
            .clock
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cell = {
            let mut entries = self.entries.lock().expect("cache lock");
            // A newer version of the same user's data makes older entries useless.
            entries.retain(|k, _| k.0 != key.0 || k.2 >= key.2);
            let entry = entries.entry(key.clone()).or_insert_with(|| Entry {
                used: tick,
                bytes: 0,
                cell: Arc::new(OnceCell::new()),
            });
            entry.used = tick;
            entry.cell.clone()
        };
        if let Some(p) = cell.get() {
            return Ok(p.clone());
        }
        let (task_state, task_user, task_cell) = (state.clone(), user.clone(), cell.clone());
        let built = tokio::spawn(async move {
            task_cell
                .get_or_try_init(|| build(&task_state, &task_user, ids))
                .await
                .cloned()
        })
        .await
        .map_err(|e| AppError::Internal(format!("preparing the dashboard: {e}")))??;
        self.admit(&key, built.bytes());
        Ok(built)
    }

    /// Records the size of a built selection and drops the least recently used others until
    /// the cache is within its budget.
    fn admit(&self, key: &Key, bytes: usize) {
        let mut entries = self.entries.lock().expect("cache lock");
        match entries.get_mut(key) {
            Some(e) => e.bytes = bytes,
            None => return,
        }
        let mut total: usize = entries.values().map(|e| e.bytes).sum();
        while total > self.budget {
            let Some(oldest) = entries
                .iter()
                .filter(|(k, e)| *k != key && e.bytes > 0)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            total -= entries.remove(&oldest).map_or(0, |e| e.bytes);
        }
    }
}

/// Turns to prepare a selection, one per core, for the whole process.
fn preparing() -> &'static tokio::sync::Semaphore {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// The settings a user's dashboards are computed under.
fn settings_of(user: &User) -> Settings {
    Settings {
        tz: user.tz.parse().unwrap_or(schema::Tz::UTC),
        min_play_ms: user.min_play_ms.max(0) as u64,
        ..Settings::default()
    }
}

/// Every stream of the user with its region: their artifact (one read), or for a user whose
/// artifact the worker has not written yet (stored before artifacts, until the sweeper's
/// backfill reaches them) the same built from their play rows.
pub(crate) async fn user_artifact(
    state: &AppState,
    user: &User,
) -> Result<(schema::Artifact, &'static str), AppError> {
    let stored = storage::plays::artifact_for_user(state.db(), &user.id).await?;
    let owner = user.id.clone();
    if let Some(a) = stored.filter(|a| a.format == i16::from(schema::artifact::FORMAT)) {
        return tokio::task::spawn_blocking(move || {
            schema::Artifact::decode(&a.bytes)
                .map(|a| (a, "artifact"))
                .map_err(|e| AppError::Internal(format!("user {owner}: {e}")))
        })
        .await
        .map_err(|e| AppError::Internal(format!("reading the artifact: {e}")))?;
    }
    let mut strings = Strings::default();
    let stored = storage::plays::load_all_for_user(state.db(), &user.id, &mut strings).await?;
    tokio::task::spawn_blocking(move || {
        let (regions, streams) = ingest_worker::regions::streams_by_region(
            stored.iter().map(|s| (s.upload_id.as_str(), s.key, s.play)),
        );
        (schema::Artifact::build(regions, streams, &strings), "rows")
    })
    .await
    .map_err(|e| AppError::Internal(format!("reading the plays: {e}")))
}

/// The streams of a selection, and the names they use.
async fn streams(
    state: &AppState,
    user: &User,
    ids: Vec<String>,
) -> Result<(Vec<Play>, Strings, &'static str), AppError> {
    let (artifact, from) = user_artifact(state, user).await?;
    tokio::task::spawn_blocking(move || {
        let selection: Vec<&str> = ids.iter().map(String::as_str).collect();
        (artifact.select(&selection), artifact.strings, from)
    })
    .await
    .map_err(|e| AppError::Internal(format!("selecting plays: {e}")))
}

/// Prepares a selection (not kept in the cache): the user's artifact, read and decoded, the
/// streams that count, the all-time stats.
pub(crate) async fn build(
    state: &AppState,
    user: &User,
    ids: Vec<String>,
) -> Result<Arc<Prepared>, AppError> {
    // As many preparations at once as the machine has cores: each holds the artifact, its
    // decoded streams and the selection being built (tens of MB at 100,000 plays), so more at
    // once only add memory and make every one of them slower.
    let _turn = preparing()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(format!("waiting to prepare: {e}")))?;
    let started = std::time::Instant::now();
    let settings = settings_of(user);
    let (plays, strings, from) = streams(state, user, ids).await?;
    let load_ms = started.elapsed().as_millis() as u64;
    let prepared = tokio::task::spawn_blocking(move || {
        let p = Prepared::new(plays, strings, settings);
        // The all-time view of everything is the first one asked for: build it now.
        p.stats(Content::All, (None, None));
        p
    })
    .await
    .map_err(|e| AppError::Internal(format!("preparing the dashboard: {e}")))?;
    tracing::info!(
        user = %user.id,
        from,
        plays = prepared.plays.len(),
        bytes = prepared.bytes(),
        load_ms,
        ms = started.elapsed().as_millis() as u64,
        "dashboard prepared"
    );
    Ok(Arc::new(prepared))
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
    ) -> Result<RangeChoice, AppError> {
        let day = |s: Option<&str>, what: &str| -> Result<Option<Day>, AppError> {
            match s.map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => crate::dashboard::parse_day(s, what).map(Some),
            }
        };
        let (from, to) = (day(from, "from")?, day(to, "to")?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(AppError::BadRequest("“from” is after “to”.".into()));
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
                return Err(AppError::BadRequest(format!(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        crate::dashboard::parse_day(s, "test").unwrap()
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

    /// A cache holding entries of the given sizes, used in this order (oldest first).
    fn cache_of(budget: usize, sizes: &[usize]) -> (DashCache, Vec<Key>) {
        let cache = DashCache::new(budget);
        let mut keys = Vec::new();
        for (i, &bytes) in sizes.iter().enumerate() {
            let key: Key = (format!("user{i}"), String::new(), 1, "UTC".into(), 0);
            cache.entries.lock().unwrap().insert(
                key.clone(),
                Entry {
                    used: i as u64,
                    bytes,
                    cell: Arc::new(OnceCell::new()),
                },
            );
            keys.push(key);
        }
        (cache, keys)
    }

    #[test]
    fn the_cache_drops_the_least_recently_used_selections_until_it_fits_its_budget() {
        let (cache, keys) = cache_of(100, &[40, 30, 20, 0]);
        // The fourth selection is built: 90 + 50 > 100, so the oldest (40) goes, only it.
        cache.admit(&keys[3], 50);
        let left: Vec<String> = {
            let entries = cache.entries.lock().unwrap();
            let mut v: Vec<String> = entries.keys().map(|k| k.0.clone()).collect();
            v.sort();
            v
        };
        assert_eq!(left, vec!["user1", "user2", "user3"]);
        assert_eq!(cache.bytes(), 100);
        // Many small users fit where one large one was: the budget is bytes, not a count.
        let (cache, keys) = cache_of(100, &[5; 19]);
        cache.admit(&keys[18], 5);
        assert_eq!(cache.entries.lock().unwrap().len(), 19);
    }

    #[test]
    fn a_selection_larger_than_the_budget_is_served_and_leaves_alone_what_is_being_built() {
        let (cache, keys) = cache_of(100, &[60, 0, 0]);
        cache.admit(&keys[2], 500);
        let entries = cache.entries.lock().unwrap();
        assert!(entries.contains_key(&keys[2]), "the one just built stays");
        assert!(
            entries.contains_key(&keys[1]),
            "one still being built is not dropped"
        );
        assert!(!entries.contains_key(&keys[0]));
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
}

/// Finished views read from the database (`storage::views`), kept as text so that a view
/// asked for again costs no query: by user, address, data version and settings, bounded by
/// bytes (least recently used dropped first). An entry of an older version or other settings
/// is simply never asked for again.
#[derive(Debug)]
pub struct FinishedCache {
    entries: Mutex<HashMap<FinishedKey, (u64, Arc<str>)>>,
    clock: std::sync::atomic::AtomicU64,
    budget: usize,
}

/// (user, address, data version, time zone, shortest play).
type FinishedKey = (String, String, i64, String, i64);

impl FinishedCache {
    /// A cache of at most `budget` bytes of text.
    pub fn new(budget: usize) -> FinishedCache {
        FinishedCache {
            entries: Mutex::new(HashMap::new()),
            clock: std::sync::atomic::AtomicU64::new(0),
            budget,
        }
    }

    fn key(user: &User, name: &str) -> FinishedKey {
        (
            user.id.clone(),
            name.to_string(),
            user.stats_version,
            user.tz.clone(),
            user.min_play_ms,
        )
    }

    /// The view `name` of `user` for their current data and settings: from memory, else from
    /// the database (then kept); `None` when none was stored.
    pub async fn get(
        &self,
        state: &AppState,
        user: &User,
        name: &str,
    ) -> Result<Option<Arc<str>>, AppError> {
        let key = Self::key(user, name);
        let tick = self
            .clock
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some((used, text)) = self.entries.lock().expect("cache lock").get_mut(&key) {
            *used = tick;
            return Ok(Some(text.clone()));
        }
        let Some(text) = storage::views::get(state.db(), user, name).await? else {
            return Ok(None);
        };
        let text: Arc<str> = Arc::from(text);
        let mut entries = self.entries.lock().expect("cache lock");
        entries.insert(key, (tick, text.clone()));
        let mut total: usize = entries.values().map(|(_, t)| t.len()).sum();
        while total > self.budget {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            total -= entries.remove(&oldest).map_or(0, |(_, t)| t.len());
        }
        Ok(Some(text))
    }
}
