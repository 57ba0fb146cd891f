//! Shared helpers of Backspin's end-to-end and fault-injection tests.
//!
//! - [`TestDb`]: a fresh, migrated database per test, on SQLite or on the real PostgreSQL
//!   server at `TEST_DATABASE_URL`.
//! - [`Pipeline`]: the pieces a worker works with, wired as `backspin` wires them (local object
//!   store under a data folder, table queue `ingest`), plus a [`MemoryNotifier`] to read alerts.
//! - [`both_engines!`]: one case, two tests: `…::on_sqlite` and `…::on_postgres`.
//! - [`faults`]: object stores that fail or hold on demand, a TCP proxy that can cut the
//!   database off, a SQLite write lock held from outside.
//! - [`fake_idp`]: an identity provider in memory, for the web tier with external accounts.
//! - [`process`]: the real `backspin` binary as a child process.
//! - [`fixtures`]: exports to upload (samples, generated ones, zips made of their files).
//! - [`web`]: the web application over a [`Pipeline`], and a cookie-keeping client that
//!   drives its router without a socket.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest_worker::Deps;
use ingest_worker::notify::MemoryNotifier;
use ingest_worker::process::Outcome;
use queue_config::QueueSettings;
use serde_json::Value;
use sqlx::Row;
use storage::objects::{LocalDir, ObjectStore};
use storage::queue::{Received, TableQueue};
use storage::uploads::{State, Upload};
use storage::users::User;
use storage::{Db, on_pool};
use tempfile::TempDir;

pub mod aws;
pub mod db;
pub mod fake_idp;
pub mod faults;
pub mod fixtures;
pub mod process;
pub mod web;

pub use db::TestDb;

/// The database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file.
    Sqlite,
    /// The PostgreSQL server at `TEST_DATABASE_URL`.
    Postgres,
}

/// Runs async cases on both engines: for `async fn a_sentence(engine: Engine)`,
/// `both_engines!(a_sentence);` gives the tests `a_sentence::on_sqlite` and
/// `a_sentence::on_postgres` (a module and a function may share a name).
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    super::$name($crate::Engine::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    super::$name($crate::Engine::Postgres).await
                }
            }
        )+
    };
}

/// The queue's name, as `backspin` names it.
pub const QUEUE: &str = "ingest";

/// Queue settings for tests: SQS's semantics with a short visibility timeout, so a message a
/// worker let go comes back within two seconds.
pub fn test_settings() -> QueueSettings {
    QueueSettings {
        visibility_timeout: Duration::from_secs(2),
        heartbeat_every: Duration::from_millis(500),
        wait_time: Duration::from_secs(1),
        ..QueueSettings::DEFAULT
    }
}

/// Everything a worker works with, on a fresh database and data folder.
#[derive(Debug)]
pub struct Pipeline {
    /// The database.
    pub test_db: TestDb,
    /// The data folder (objects under `objects/`, as `backspin --data-dir` has it).
    pub data: TempDir,
    /// The object store.
    pub store: Arc<LocalDir>,
    /// The table queue `ingest`.
    pub queue: Arc<TableQueue>,
    /// Alerts sent.
    pub notifier: Arc<MemoryNotifier>,
    /// Queue settings the workers use.
    pub settings: QueueSettings,
}

impl Pipeline {
    /// A pipeline with [`test_settings`].
    pub async fn new(engine: Engine) -> Pipeline {
        Pipeline::with_settings(engine, test_settings()).await
    }

    /// A pipeline with the given queue settings (its queue dead-letters after
    /// `settings.max_receives`).
    pub async fn with_settings(engine: Engine, settings: QueueSettings) -> Pipeline {
        settings.validate().expect("valid test queue settings");
        let test_db = TestDb::new(engine).await;
        let data = tempfile::tempdir().expect("temporary folder");
        let store = Arc::new(LocalDir::new(data.path().join("objects")).expect("object store"));
        let queue = Arc::new(TableQueue::new(
            test_db.db.clone(),
            QUEUE,
            settings.max_receives,
        ));
        Pipeline {
            test_db,
            data,
            store,
            queue,
            notifier: Arc::new(MemoryNotifier::default()),
            settings,
        }
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.test_db.engine
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.test_db.db
    }

    /// Where the local store keeps the object `key`.
    pub fn store_path(&self, key: &str) -> std::path::PathBuf {
        self.data.path().join("objects").join(key)
    }

    /// A worker's dependencies on this pipeline.
    pub fn deps(&self) -> Deps {
        self.deps_with(self.db().clone(), self.store.clone())
    }

    /// A worker's dependencies with another database pool or object store (a faulty one).
    pub fn deps_with(&self, db: Db, store: Arc<dyn ObjectStore>) -> Deps {
        Deps {
            queue: Arc::new(TableQueue::new(
                db.clone(),
                QUEUE,
                self.settings.max_receives,
            )),
            db,
            store,
            notifier: self.notifier.clone(),
            settings: self.settings,
            limits: schema::Limits::default(),
            max_upload_bytes: 1 << 30,
            after_change: Default::default(),
        }
    }

    /// A registered user.
    pub async fn user(&self, email: &str) -> User {
        storage::users::ensure_by_email(self.db(), email)
            .await
            .expect("user")
    }

    /// Uploads a file for `user` the way every upload goes (row, object, event).
    pub async fn submit(&self, user: &User, path: &Path) -> Upload {
        let name = path.file_name().expect("a file name").to_string_lossy();
        let mut file = tokio::fs::File::open(path)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        ingest_worker::lifecycle::submit(&self.deps(), &user.id, &name, &mut file, 1 << 30, None)
            .await
            .expect("submit")
    }

    /// Uploads bytes as a file called `name`.
    pub async fn submit_bytes(&self, user: &User, name: &str, bytes: &[u8]) -> Upload {
        let mut body = bytes;
        ingest_worker::lifecycle::submit(&self.deps(), &user.id, name, &mut body, 1 << 30, None)
            .await
            .expect("submit")
    }

    /// Receives and handles messages (as one worker would, without waiting) until none is
    /// visible; dead letters found on the way are reported as the worker reports them.
    /// Returns what became of each message.
    pub async fn work(&self, deps: &Deps) -> Vec<(Received, Outcome)> {
        let mut done = Vec::new();
        loop {
            let batch = deps
                .queue
                .receive(1, Duration::ZERO, deps.settings.visibility_timeout)
                .await
                .expect("receive");
            ingest_worker::process::dead_lettered(deps, &batch.dead_lettered).await;
            if batch.messages.is_empty() {
                return done;
            }
            for m in batch.messages {
                let outcome = ingest_worker::process::handle(deps, &m).await;
                done.push((m, outcome));
            }
        }
    }

    /// The upload as stored now.
    pub async fn upload(&self, id: &str) -> Option<Upload> {
        storage::uploads::by_id(self.db(), &storage::ids::UploadId::stored(id))
            .await
            .expect("read upload")
    }

    /// Polls the upload until `done` holds, failing the test with its last state after
    /// `within`.
    pub async fn wait_for(
        &self,
        id: &str,
        within: Duration,
        what: &str,
        done: impl Fn(&Upload) -> bool,
    ) -> Upload {
        let deadline = Instant::now() + within;
        loop {
            let u = self.upload(id).await;
            if let Some(u) = u.as_ref().filter(|u| done(u)) {
                return u.clone();
            }
            assert!(
                Instant::now() < deadline,
                "upload {id} was not {what} within {within:?}; it is {u:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the upload is in `state`.
    pub async fn wait_for_state(&self, id: &str, state: State, within: Duration) -> Upload {
        self.wait_for(id, within, state.as_str(), |u| u.state == state)
            .await
    }

    /// Waits until the upload has settled, asserts it ended ready, then waits until its
    /// message has been acknowledged (the queue is empty).
    pub async fn wait_ready_and_acknowledged(&self, id: &str, within: Duration) {
        let u = self
            .wait_for(id, within, "ready or failed", |u| {
                matches!(u.state, State::Ready | State::Failed)
            })
            .await;
        assert_eq!(u.state, State::Ready, "{:?}", u.reason);
        eventually(
            Duration::from_secs(10),
            "the message acknowledged",
            || async { self.queue_rows().await.is_empty().then_some(()) },
        )
        .await;
    }

    /// The streams an upload holds, as its owner's artifact records them: `(digest, play)`
    /// with names on the returned table. Nothing for an upload that is gone.
    pub async fn upload_streams(
        &self,
        upload_id: &str,
    ) -> (Vec<([u8; 16], schema::Play)>, schema::Strings) {
        let mut strings = schema::Strings::default();
        let Some(upload) = self.upload(upload_id).await else {
            return (Vec::new(), strings);
        };
        let Some(stored) = storage::plays::artifact_for_user(self.db(), &upload.owner_id)
            .await
            .expect("read the artifact")
        else {
            return (Vec::new(), strings);
        };
        let artifact = schema::Artifact::decode(&stored.bytes).expect("a readable artifact");
        let streams = artifact
            .members(&[], &mut strings)
            .into_iter()
            .filter(|(u, _, _)| u == upload_id)
            .map(|(_, key, play)| (key, play))
            .collect();
        (streams, strings)
    }

    /// Streams stored for an upload.
    pub async fn play_count(&self, upload_id: &str) -> i64 {
        self.upload_streams(upload_id).await.0.len() as i64
    }

    /// Stream digests of an upload's plays, sorted: the identity of every play it holds.
    pub async fn stream_keys(&self, upload_id: &str) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = self
            .upload_streams(upload_id)
            .await
            .0
            .iter()
            .map(|(k, _)| k.to_vec())
            .collect();
        keys.sort();
        keys
    }

    /// Rewrites a user's artifact through `edit` (to stage what an older version or a fault
    /// left).
    pub async fn rewrite_artifact(&self, user_id: &str, edit: impl FnOnce(&mut schema::Artifact)) {
        let stored =
            storage::plays::artifact_for_user(self.db(), &storage::ids::UserId::stored(user_id))
                .await
                .expect("read the artifact")
                .expect("the user has an artifact");
        let mut artifact = schema::Artifact::decode(&stored.bytes).expect("a readable artifact");
        edit(&mut artifact);
        let bytes = artifact.encode();
        on_pool!(self.db(), p => sqlx::query("UPDATE artifacts SET bytes = $1, streams = $2 WHERE user_id = $3")
            .bind(&bytes)
            .bind(artifact.plays.len() as i64)
            .bind(user_id)
            .execute(p)
            .await
            .map(|_| ()))
        .expect("rewrite the artifact");
    }

    /// Puts the database back to before migration 10 ([`storage::db::CONTRACT_PLAYS`]): the
    /// `plays` and `stats` tables as migration 1 made them, the contract not applied.
    pub async fn as_before_contract(&self) {
        let initial = match self.engine() {
            Engine::Sqlite => include_str!("../../storage/migrations/sqlite/0001_initial.sql"),
            Engine::Postgres => include_str!("../../storage/migrations/postgres/0001_initial.sql"),
        };
        let from = initial
            .find("CREATE TABLE plays")
            .expect("migration 1 makes plays");
        let to = initial
            .find("CREATE TABLE queue_messages")
            .expect("and the queue after");
        on_pool!(self.db(), p => sqlx::raw_sql(&initial[from..to]).execute(p).await.map(|_| ()))
            .expect("the tables of migration 1");
        self.execute(&format!(
            "DELETE FROM backspin_migrations WHERE version = {}",
            storage::db::CONTRACT_PLAYS
        ))
        .await;
    }

    /// Whether the database has a table `name`.
    pub async fn has_table(&self, name: &str) -> bool {
        on_pool!(self.db(), p => sqlx::query(&format!("SELECT 1 FROM {name} WHERE 1 = 0"))
            .execute(p)
            .await
            .is_ok())
    }

    /// Turns a user's artifact back into the play rows versions before it kept (one per
    /// upload holding a stream), and deletes the artifact: a database as it was before the
    /// artifact's migration (after [`Pipeline::as_before_contract`]).
    pub async fn as_play_rows(&self, user_id: &str) {
        let stored =
            storage::plays::artifact_for_user(self.db(), &storage::ids::UserId::stored(user_id))
                .await
                .expect("read the artifact")
                .expect("the user has an artifact");
        let artifact = schema::Artifact::decode(&stored.bytes).expect("a readable artifact");
        let mut strings = schema::Strings::default();
        let members = artifact.members(&[], &mut strings);
        let text = |sym: schema::Sym| strings.opt(sym).map(str::to_string);
        for (upload, key, p) in &members {
            let platform = schema::Platform::ALL
                .iter()
                .position(|x| *x == p.platform)
                .unwrap_or(schema::Platform::ALL.len() - 1) as i16;
            let kind: i16 = match p.kind {
                schema::Kind::Track => 0,
                schema::Kind::Episode => 1,
                schema::Kind::Audiobook => 2,
                schema::Kind::Unknown => 3,
            };
            on_pool!(self.db(), db => sqlx::query(
                "INSERT INTO plays (upload_id, user_id, stream_key, end_ms, ms_played, kind, source, title, creator, \
                 collection, uri, reason_start, reason_end, shuffle, skipped, offline, incognito, platform, country) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
            )
            .bind(upload)
            .bind(user_id)
            .bind(key.to_vec())
            .bind(p.end_ms)
            .bind(p.ms_played as i64)
            .bind(kind)
            .bind(i16::from(p.source == schema::Source::Account))
            .bind(text(p.title))
            .bind(text(p.creator))
            .bind(text(p.collection))
            .bind(text(p.uri))
            .bind(text(p.reason_start))
            .bind(text(p.reason_end))
            .bind(p.shuffle)
            .bind(p.skipped)
            .bind(p.offline)
            .bind(p.incognito)
            .bind(platform)
            .bind(p.country.as_str())
            .execute(db)
            .await
            .map(|_| ()))
            .expect("insert a play row");
        }
        self.execute(&format!(
            "DELETE FROM artifacts WHERE user_id = '{user_id}'"
        ))
        .await;
    }

    /// A user's artifact and the settings their dashboards use.
    async fn artifact_of(&self, user_id: &str) -> Option<(schema::Artifact, schema::Settings)> {
        let user = storage::users::by_id(self.db(), &storage::ids::UserId::stored(user_id))
            .await
            .expect("read the user")?;
        let stored =
            storage::plays::artifact_for_user(self.db(), &storage::ids::UserId::stored(user_id))
                .await
                .expect("read the artifact")?;
        let settings = schema::Settings {
            tz: user.tz.parse().unwrap_or(schema::Tz::UTC),
            min_play_ms: user.min_play_ms.max(0) as u64,
            ..schema::Settings::default()
        };
        Some((
            schema::Artifact::decode(&stored.bytes).expect("a readable artifact"),
            settings,
        ))
    }

    /// A user's stats per region (the streams of each region of their artifact), with each
    /// region's upload ids replaced by the labels given (so that runs in different databases
    /// compare), sorted by region.
    pub async fn stats(&self, user_id: &str, labels: &[(&str, &str)]) -> Vec<RegionSnapshot> {
        let Some((artifact, settings)) = self.artifact_of(user_id).await else {
            return Vec::new();
        };
        let mut by_region: std::collections::BTreeMap<u32, Vec<schema::Play>> =
            std::collections::BTreeMap::new();
        for (p, r) in artifact.plays.iter().zip(&artifact.regions_of) {
            by_region.entry(*r).or_default().push(*p);
        }
        let mut out: Vec<RegionSnapshot> = by_region
            .into_iter()
            .map(|(r, plays)| {
                let stats = schema::Stats::build(&plays, settings);
                // `members` or `members|shadows`, each a comma-joined id list.
                let label = |id: &str| {
                    labels
                        .iter()
                        .find(|(i, _)| *i == id)
                        .map_or_else(|| format!("unlabelled upload {id}"), |(_, l)| l.to_string())
                };
                let names: Vec<String> = artifact.regions[r as usize]
                    .split('|')
                    .map(|part| {
                        let mut ids: Vec<String> = part.split(',').map(label).collect();
                        ids.sort();
                        ids.join(",")
                    })
                    .collect();
                RegionSnapshot {
                    region: names.join("|"),
                    streams: stats.total.streams as i64,
                    ms_played: stats.total.ms as i64,
                    doc: normalise_doc(
                        &serde_json::to_string(&stats.to_doc(&artifact.strings)).expect("doc"),
                    ),
                }
            })
            .collect();
        out.sort_by(|a, b| a.region.cmp(&b.region));
        out
    }

    /// The user's stats over a selection of uploads, as the dashboards count them (each
    /// stream once, shadowed account data left out), as a normalised document
    /// (`Value::Null` when nothing meets the selection).
    pub async fn merged(&self, user_id: &str, selection: &[&str]) -> Value {
        let Some((artifact, settings)) = self.artifact_of(user_id).await else {
            return Value::Null;
        };
        let plays = artifact.select(selection);
        if plays.is_empty() {
            return Value::Null;
        }
        let stats = schema::Stats::build(&plays, settings);
        normalise_doc(&serde_json::to_string(&stats.to_doc(&artifact.strings)).expect("doc"))
    }

    /// Runs a statement straight on the database (to stage a state the code under test must
    /// cope with); returns the rows it changed.
    pub async fn execute(&self, sql: &str) -> u64 {
        on_pool!(self.db(), p => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// `(queue, receive_count)` of every message row, by id.
    pub async fn queue_rows(&self) -> Vec<(String, i32)> {
        on_pool!(self.db(), p => sqlx::query("SELECT queue, receive_count FROM queue_messages ORDER BY id")
            .fetch_all(p)
            .await
            .map(|rows| rows.iter().map(|r| (r.get("queue"), r.get("receive_count"))).collect()))
        .expect("queue rows")
    }

    /// The summary of an upload as JSON.
    pub async fn summary(&self, id: &str) -> Value {
        let u = self.upload(id).await.expect("upload exists");
        serde_json::from_str(u.summary.as_deref().expect("a ready upload has a summary"))
            .expect("summary JSON")
    }
}

/// One region of a user's stats, comparable across databases.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionSnapshot {
    /// The labels of the uploads that hold its streams, sorted, joined by `,`; then, after a
    /// `|`, those of the uploads whose extended history shadows its account-data streams.
    pub region: String,
    /// Streams.
    pub streams: i64,
    /// Listening time.
    pub ms_played: i64,
    /// The stats document, normalised.
    pub doc: Value,
}

/// A stats document with names in place of their indices (which follow hash-map order) and
/// the lists that come from hash maps sorted, so that equal stats give equal values.
pub fn normalise_doc(doc: &str) -> Value {
    let mut v: Value = serde_json::from_str(doc).expect("stats document is JSON");
    let names: Vec<Value> = match v.get_mut("names").map(Value::take) {
        Some(Value::Array(names)) => names,
        _ => Vec::new(),
    };
    if let Some(obj) = v.as_object_mut() {
        obj.remove("names");
    }
    let name = |x: &Value| {
        x.as_u64()
            .and_then(|i| names.get(i as usize))
            .cloned()
            .unwrap_or(Value::Null)
    };
    for (key, positions) in [
        ("monthly", &[2usize, 3][..]),
        ("first_last", &[1, 2][..]),
        ("reason_start", &[0][..]),
        ("reason_end", &[0][..]),
    ] {
        if let Some(Value::Array(items)) = v.get_mut(key) {
            for item in items.iter_mut() {
                if let Value::Array(fields) = item {
                    for &at in positions {
                        if let Some(f) = fields.get_mut(at) {
                            *f = name(f);
                        }
                    }
                }
            }
            items.sort_by_cached_key(|x| x.to_string());
        }
    }
    v
}

/// Polls `check` until it returns `Some`, failing with `what` after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Log lines written while a future runs, for tests that check what was logged.
#[derive(Debug, Clone, Default)]
pub struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLog {
    /// A subscriber writing into this capture (no colours), at `info` and above.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        self.subscriber_at(tracing::Level::INFO)
    }

    /// A subscriber writing into this capture (no colours), at `level` and above (`TRACE`:
    /// everything any crate logs).
    pub fn subscriber_at(
        &self,
        level: tracing::Level,
    ) -> impl tracing::Subscriber + Send + Sync + 'static {
        // While a capture is the only dispatcher ever registered, `tracing` computes the
        // interest of a callsite first reached on *another* thread from that thread's default
        // (none), caches "never" for good, and this capture then misses the event. A second,
        // silent dispatcher kept for the whole process makes every callsite ask each thread.
        static COMPANION: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        COMPANION
            .get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(level)
            .with_writer(move || sink.clone())
            .finish()
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What an ingest left for one upload: comparable across databases.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// Plays stored for the upload.
    pub plays: i64,
    /// Their stream digests, sorted.
    pub keys: Vec<Vec<u8>>,
    /// The owner's stats, the upload labelled `upload`.
    pub stats: Vec<RegionSnapshot>,
    /// The upload's summary.
    pub summary: Value,
}

impl Pipeline {
    /// What the ingest of `upload_id` left, for a user with that one upload.
    pub async fn ingested(&self, user: &User, upload_id: &str) -> Ingested {
        Ingested {
            plays: self.play_count(upload_id).await,
            keys: self.stream_keys(upload_id).await,
            stats: self.stats(&user.id, &[(upload_id, "upload")]).await,
            summary: self.summary(upload_id).await,
        }
    }
}

/// Uploads `path` for a new user in a fresh database and works the queue: what a clean,
/// uninterrupted ingest of it gives.
pub async fn clean_run(engine: Engine, path: &Path) -> Ingested {
    let p = Pipeline::new(engine).await;
    let user = p.user("clean@example.com").await;
    let upload = p.submit(&user, path).await;
    let outcomes = p.work(&p.deps()).await;
    assert_eq!(outcomes.len(), 1, "one event, one message: {outcomes:?}");
    let u = p.upload(&upload.id).await.expect("upload");
    assert_eq!(
        u.state,
        State::Ready,
        "the clean run failed: {:?}",
        u.reason
    );
    p.ingested(&user, &upload.id).await
}

/// Fails, saying what differs and how, unless `actual` equals `expected` (a clean run).
pub fn assert_same_ingest(actual: &Ingested, expected: &Ingested) {
    assert_eq!(
        actual.plays, expected.plays,
        "plays stored: {} against {} in a clean run",
        actual.plays, expected.plays
    );
    if actual.keys != expected.keys {
        let missing = expected
            .keys
            .iter()
            .filter(|k| actual.keys.binary_search(k).is_err())
            .count();
        let extra = actual
            .keys
            .iter()
            .filter(|k| expected.keys.binary_search(k).is_err())
            .count();
        panic!("the streams stored differ from a clean run: {missing} missing, {extra} extra");
    }
    assert_same_stats(&actual.stats, &expected.stats);
    assert!(
        actual.summary == expected.summary,
        "the upload's summary differs from a clean run:\n{}\nagainst\n{}",
        actual.summary,
        expected.summary
    );
}

/// Fails, naming the first region and field that differ, unless the stats are equal.
pub fn assert_same_stats(actual: &[RegionSnapshot], expected: &[RegionSnapshot]) {
    let names = |s: &[RegionSnapshot]| s.iter().map(|r| r.region.clone()).collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "stats regions");
    for (a, e) in actual.iter().zip(expected) {
        assert_eq!(
            (a.streams, a.ms_played),
            (e.streams, e.ms_played),
            "streams and listening time of region {}",
            a.region
        );
        if a.doc != e.doc {
            let field = e
                .doc
                .as_object()
                .and_then(|o| {
                    o.keys()
                        .find(|k| a.doc.get(k.as_str()) != e.doc.get(k.as_str()))
                })
                .cloned()
                .unwrap_or_default();
            panic!("stats of region {} differ in {field:?}", a.region);
        }
    }
}

/// [`clean_run`] on a thread and runtime of its own, to overlap with the test's own work.
/// (Not a task: the future of `Db::migrate` is not `Send` for every lifetime, so it cannot be
/// `tokio::spawn`ed.)
pub fn clean_run_in_background(
    engine: Engine,
    path: &Path,
) -> tokio::sync::oneshot::Receiver<Ingested> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let _ = tx.send(rt.block_on(clean_run(engine, &path)));
    });
    rx
}
