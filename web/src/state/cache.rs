//! The caches of a web process, both bounded by bytes and shared by every user: prepared
//! selections ([`DashCache`]) and finished views read from the database ([`FinishedCache`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use engine::Prepared;
use storage::users::User;
use tokio::sync::OnceCell;

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

/// The key of a user's selection in the state their data is in now; `part` names the days of a
/// selection prepared for some days only (empty for the whole selection).
fn key(user: &User, upload_ids: &[String], part: &str) -> Key {
    let mut ids = upload_ids.to_vec();
    ids.sort();
    (
        user.id.to_string(),
        ids.join(",") + part,
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

    /// Whether the selection of `user` and `upload_ids` is prepared or being prepared.
    pub fn holds(&self, user: &User, upload_ids: &[String]) -> bool {
        let mut ids = upload_ids.to_vec();
        ids.sort();
        self.entries
            .lock()
            .expect("cache lock")
            .contains_key(&key(user, &ids, ""))
    }

    /// The prepared selection for `user` and `upload_ids` (sorted, the ones that count),
    /// building it when missing or stale; concurrent requests for the same one build it once.
    /// The building runs on a task of its own, so a request that gives up (its deadline)
    /// leaves it to finish for the next one.
    ///
    /// `part` names the days of a selection prepared for those days only
    /// ([`engine::Prepared::window`]), kept apart from the whole selection; empty for the
    /// whole selection.
    pub async fn get<F, Fut>(
        &self,
        user: &User,
        upload_ids: &[String],
        part: &str,
        build: F,
    ) -> Result<Arc<Prepared>, AppError>
    where
        F: FnOnce(Vec<String>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Arc<Prepared>, AppError>> + Send,
    {
        let mut ids = upload_ids.to_vec();
        ids.sort();
        let key = key(user, &ids, part);
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
        let task_cell = cell.clone();
        let built =
            tokio::spawn(async move { task_cell.get_or_try_init(|| build(ids)).await.cloned() })
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
            user.id.to_string(),
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
        db: &storage::Db,
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
        let Some(text) = storage::views::get(db, user, name).await? else {
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
