//! What the dashboards are computed from, kept in memory: for one user and one selection of
//! their uploads, the selection prepared by the engine ([`engine::Prepared`]: every stream
//! that counts, each once, with the [`schema::Stats`] of any range and content kind built on
//! first use and kept).
//!
//! An entry is keyed by the user's `stats_version` (bumped by every ingest, delete and settings
//! change), time zone and play threshold, so a stale entry is never served: the next request
//! after a change builds a new one. Building reads the user's artifact in one query and decodes
//! it (a few hundred milliseconds with the all-time stats for a 300,000-play lifetime); every
//! later view of that selection is computed from memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use engine::{Content, Prepared};
use schema::{Play, Strings};
use storage::users::User;
use tokio::sync::OnceCell;

use crate::AppState;
use crate::error::AppError;

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
///
/// Where the process's allocator counts what it holds (the `backspin` binary's, [`heap`]), the
/// bound is also on real bytes: while the heap holds more than it did when the cache was made
/// plus the budget, the least recently used selections are dropped (and their memory given
/// back to the system), whatever their estimate said. One user's selections are held to a
/// quarter of the budget by estimate, so one visitor clicking through many selections cannot
/// push every other user out.
#[derive(Debug)]
pub struct DashCache {
    entries: Mutex<HashMap<Key, Entry>>,
    clock: std::sync::atomic::AtomicU64,
    budget: usize,
    /// Where the heap may go (what it held when the cache was made, plus the budget), when the
    /// allocator counts.
    heap_limit: Option<usize>,
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
            heap_limit: heap::live().map(|base| base + budget),
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
            self.trim(&key);
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
    /// the cache is within its budget: first the same user's beyond their share, then
    /// anyone's; then, where the heap is counted, until the heap is within its limit.
    fn admit(&self, key: &Key, bytes: usize) {
        {
            let mut entries = self.entries.lock().expect("cache lock");
            match entries.get_mut(key) {
                Some(e) => e.bytes = bytes,
                None => return,
            }
            let share = self.budget / 4;
            let mine = |k: &Key| k.0 == key.0;
            let mut users: usize = entries
                .iter()
                .filter(|(k, _)| mine(k))
                .map(|(_, e)| e.bytes)
                .sum();
            while users > share {
                let Some((k, b)) = oldest(&entries, key, mine) else {
                    break;
                };
                entries.remove(&k);
                users -= b;
            }
            let mut total: usize = entries.values().map(|e| e.bytes).sum();
            while total > self.budget {
                let Some((k, b)) = oldest(&entries, key, |_| true) else {
                    break;
                };
                entries.remove(&k);
                total -= b;
            }
        }
        self.trim(key);
    }

    /// Where the heap is counted and holds more than its limit: drops the least recently used
    /// selections but `keep` until it does not (or nothing else is left), then gives the freed
    /// memory back to the system. A selection a request still reads is freed when it is done.
    fn trim(&self, keep: &Key) {
        let Some(limit) = self.heap_limit else {
            return;
        };
        let mut dropped = 0;
        while heap::live().is_some_and(|live| live > limit) {
            let gone = {
                let mut entries = self.entries.lock().expect("cache lock");
                let Some((k, _)) = oldest(&entries, keep, |_| true) else {
                    break;
                };
                entries.remove(&k)
            };
            drop(gone);
            dropped += 1;
        }
        if dropped > 0 {
            heap::release_free();
            tracing::debug!(
                dropped,
                heap = heap::live(),
                limit,
                "prepared selections dropped for memory"
            );
        }
    }
}

/// The least recently used built entry among those `which` takes, but `keep`: its key and
/// estimated size.
fn oldest(
    entries: &HashMap<Key, Entry>,
    keep: &Key,
    which: impl Fn(&Key) -> bool,
) -> Option<(Key, usize)> {
    entries
        .iter()
        .filter(|(k, e)| *k != keep && e.bytes > 0 && which(k))
        .min_by_key(|(_, e)| e.used)
        .map(|(k, e)| (k.clone(), e.bytes))
}

/// Turns to prepare a selection, one per core, for the whole process.
fn preparing() -> &'static tokio::sync::Semaphore {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Every stream of the user with its region: their artifact, in one read (an empty one for a
/// user the worker has not written one for: nothing ready yet).
pub(crate) async fn user_artifact(
    state: &AppState,
    user: &User,
) -> Result<schema::Artifact, AppError> {
    let Some(stored) = storage::plays::artifact_for_user(state.db(), &user.id).await? else {
        return Ok(schema::Artifact::build(
            Vec::new(),
            Vec::new(),
            &Strings::default(),
        ));
    };
    let owner = user.id.clone();
    tokio::task::spawn_blocking(move || {
        schema::Artifact::decode(&stored.bytes)
            .map_err(|e| AppError::Internal(format!("user {owner}: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("reading the artifact: {e}")))?
}

/// The streams of a selection, and the names they use.
async fn streams(
    state: &AppState,
    user: &User,
    ids: Vec<String>,
) -> Result<(Vec<Play>, Strings), AppError> {
    let artifact = user_artifact(state, user).await?;
    tokio::task::spawn_blocking(move || {
        let selection: Vec<&str> = ids.iter().map(String::as_str).collect();
        (artifact.select(&selection), artifact.strings)
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
    let hidden = crate::hiding::for_engine(state, user).await?;
    let (plays, strings) = streams(state, user, ids).await?;
    let load_ms = started.elapsed().as_millis() as u64;
    let settings = engine::selection::settings(&user.tz, user.min_play_ms);
    let prepared = tokio::task::spawn_blocking(move || prepare(plays, strings, &hidden, settings))
        .await
        .map_err(|e| AppError::Internal(format!("preparing the dashboard: {e}")))?;
    log_prepared(user, "artifact", load_ms, started, &prepared);
    Ok(Arc::new(prepared))
}

/// Prepares a selection from streams already in memory (the worker's, as an ingest writes
/// them: the artifact, or the ingested `upload`'s plays), as [`build`] does from the stored
/// artifact. `None` when the streams do not cover the selection.
pub(crate) async fn build_from(
    state: &AppState,
    user: &User,
    ids: Vec<String>,
    streams: ingest_worker::FirstStreams,
    upload: String,
) -> Result<Option<Arc<Prepared>>, AppError> {
    let started = std::time::Instant::now();
    let hidden = crate::hiding::for_engine(state, user).await?;
    let settings = engine::selection::settings(&user.tz, user.min_play_ms);
    let prepared = tokio::task::spawn_blocking(move || {
        let selection: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (plays, strings) = streams.select(&selection, &upload)?;
        Some(prepare(plays, strings, &hidden, settings))
    })
    .await
    .map_err(|e| AppError::Internal(format!("preparing the dashboard: {e}")))?;
    let Some(prepared) = prepared else {
        return Ok(None);
    };
    log_prepared(user, "memory", 0, started, &prepared);
    Ok(Some(Arc::new(prepared)))
}

/// A selection's streams, without what the user hid, prepared with the all-time stats of
/// everything (the first view asked for) built.
fn prepare(
    plays: Vec<Play>,
    strings: Strings,
    hidden: &[(engine::selection::HiddenKind, String, String)],
    settings: schema::Settings,
) -> Prepared {
    let plays = engine::selection::without_hidden(plays, &strings, hidden);
    let p = Prepared::new(plays, strings, settings);
    p.stats(Content::All, (None, None));
    p
}

fn log_prepared(
    user: &User,
    from: &str,
    load_ms: u64,
    started: std::time::Instant,
    prepared: &Prepared,
) {
    tracing::info!(
        user = %user.id,
        from,
        plays = prepared.plays.len(),
        bytes = prepared.bytes(),
        load_ms,
        ms = started.elapsed().as_millis() as u64,
        "dashboard prepared"
    );
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
