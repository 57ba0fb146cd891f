//! Preparing a selection for the dashboards: the user's artifact read and decoded (or the
//! streams an ingest holds in memory), what they hid taken out. The stats of a range are
//! built when a view asks for them, so that a view of a few months never pays for all time.

use std::sync::Arc;

use engine::{Content, Prepared};
use schema::aggregate::Day;
use schema::{Play, Strings};
use storage::users::User;

use crate::error::AppError;
use crate::state::AppState;
use crate::state::metrics::Metrics;

/// Turns to prepare a selection, one per core, for the whole process; and turns to read the
/// bytes of a window, four per core.
fn semaphores() -> &'static [tokio::sync::Semaphore; 2] {
    static TURNS: std::sync::OnceLock<[tokio::sync::Semaphore; 2]> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        [
            tokio::sync::Semaphore::new(cores),
            tokio::sync::Semaphore::new(4 * cores),
        ]
    })
}

/// A turn to prepare a selection. As many preparations run at once as the machine has cores:
/// each holds the artifact, its decoded streams and the selection being built (tens of MB at
/// 100,000 plays), so more at once only add memory and make every one of them slower.
async fn turn() -> Result<tokio::sync::SemaphorePermit<'static>, AppError> {
    take(&semaphores()[0]).await
}

/// A turn to read the bytes of a window from the database ([`read_window`]), before the turn
/// to prepare it: reads wait on the database, not on the cores, so they overlap with the
/// preparations of others. Four per core, each a part of one artifact, bound what they hold.
async fn read_turn() -> Result<tokio::sync::SemaphorePermit<'static>, AppError> {
    take(&semaphores()[1]).await
}

async fn take(
    s: &'static tokio::sync::Semaphore,
) -> Result<tokio::sync::SemaphorePermit<'static>, AppError> {
    s.acquire()
        .await
        .map_err(|e| AppError::Internal(format!("waiting to prepare: {e}")))
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
    Metrics::add(&state.metrics().artifact_bytes_read, stored.bytes.len());
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
/// streams that count.
pub(crate) async fn build(
    state: &AppState,
    user: &User,
    ids: Vec<String>,
) -> Result<Arc<Prepared>, AppError> {
    let _turn = turn().await?;
    let started = std::time::Instant::now();
    let hidden = crate::dashboards::hidden::for_engine(state, user).await?;
    whole(state, user, ids, hidden, started).await
}

/// [`build`] once its turn has come and what the user hid is known.
async fn whole(
    state: &AppState,
    user: &User,
    ids: Vec<String>,
    hidden: Vec<(engine::selection::HiddenKind, String, String)>,
    started: std::time::Instant,
) -> Result<Arc<Prepared>, AppError> {
    let (plays, strings) = streams(state, user, ids).await?;
    let load_ms = started.elapsed().as_millis() as u64;
    let settings = engine::selection::settings(&user.tz, user.min_play_ms);
    let prepared = tokio::task::spawn_blocking(move || prepare(plays, strings, &hidden, settings))
        .await
        .map_err(|e| AppError::Internal(format!("preparing the dashboard: {e}")))?;
    Metrics::inc(&state.metrics().prepared_whole);
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
    let hidden = crate::dashboards::hidden::for_engine(state, user).await?;
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

/// A selection's streams, without what the user hid, prepared.
fn prepare(
    plays: Vec<Play>,
    strings: Strings,
    hidden: &[(engine::selection::HiddenKind, String, String)],
    settings: schema::Settings,
) -> Prepared {
    let plays = engine::selection::without_hidden(plays, &strings, hidden);
    Prepared::new(plays, strings, settings)
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

/// The prepared selection of `user`'s uploads `ids`, from the process's cache
/// ([`crate::state::cache::DashCache`]), prepared ([`build`]) when missing or stale.
pub(crate) async fn prepared(
    state: &AppState,
    user: &User,
    ids: &[String],
) -> Result<Arc<Prepared>, AppError> {
    let (task_state, task_user) = (state.clone(), user.clone());
    state
        .dash()
        .get(user, ids, "", move |ids| async move {
            build(&task_state, &task_user, ids).await
        })
        .await
}

/// A selection to read the local days `days` of: the whole selection when this process holds
/// it, else one prepared for those days only ([`window`]), kept in the cache beside whole
/// selections.
pub(crate) async fn prepared_for_days(
    state: &AppState,
    user: &User,
    ids: &[String],
    days: (Day, Day),
) -> Result<Arc<Prepared>, AppError> {
    if state.dash().holds(user, ids) {
        return prepared(state, user, ids).await;
    }
    let (task_state, task_user) = (state.clone(), user.clone());
    let part = format!("@{}..{}", days.0.label(), days.1.label());
    state
        .dash()
        .get(user, ids, &part, move |ids| async move {
            window(&task_state, &task_user, ids, days).await
        })
        .await
}

/// A day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// Prepares a selection for the local days `days` only: the streams of the user's artifact
/// that ended from a day before the first to a day after the last in UTC (so every stream
/// ending on those days in any time zone), reading from the database only the bytes of the
/// segments holding them and of the names they use ([`read_window`],
/// [`schema::artifact::Layout`], [`Prepared::window`]). That takes every upload chosen and
/// nothing hidden (what the window knows of all time is of that selection); for any other
/// selection, or an artifact of a format before, the whole selection is prepared, as [`build`]
/// does.
async fn window(
    state: &AppState,
    user: &User,
    ids: Vec<String>,
    days: (Day, Day),
) -> Result<Arc<Prepared>, AppError> {
    let started = std::time::Instant::now();
    let hidden = crate::dashboards::hidden::for_engine(state, user).await?;
    if hidden.is_empty() {
        let ms = |d: Day| i64::from(d.0) * DAY_MS;
        let (from_ms, to_ms) = (ms(days.0) - DAY_MS, ms(days.1) + 2 * DAY_MS - 1);
        let reading = read_turn().await?;
        if let Some(read) = read_window(state, user, from_ms, to_ms).await? {
            let load_ms = started.elapsed().as_millis() as u64;
            let _turn = turn().await?;
            drop(reading);
            let settings = engine::selection::settings(&user.tz, user.min_play_ms);
            let (owner, wanted) = (user.id.clone(), ids.clone());
            let prepared = tokio::task::spawn_blocking(move || {
                let w = read
                    .decode()
                    .map_err(|e| AppError::Internal(format!("user {owner}: {e}")))?;
                Ok::<_, AppError>(
                    (w.uploads() == wanted).then(|| Prepared::window(w, days, settings)),
                )
            })
            .await
            .map_err(|e| AppError::Internal(format!("preparing the dashboard: {e}")))??;
            if let Some(prepared) = prepared {
                Metrics::inc(&state.metrics().prepared_windows);
                log_prepared(user, "window", load_ms, started, &prepared);
                return Ok(Arc::new(prepared));
            }
        }
    }
    let _turn = turn().await?;
    whole(state, user, ids, hidden, started).await
}

/// How much of an artifact is read first for its header: a PostgreSQL chunk or so, the
/// header of a history of about 350,000 streams (a longer one is read again as far as it
/// reaches).
const HEAD_READ: usize = 2 << 10;

/// The bytes of an artifact a window needs, read ([`read_window`]).
struct WindowRead {
    layout: schema::artifact::Layout,
    plan: schema::artifact::WindowPlan,
    names: Vec<u8>,
    segments: Vec<u8>,
}

impl WindowRead {
    fn decode(self) -> Result<schema::artifact::Window, schema::artifact::ArtifactError> {
        self.layout
            .decode_window(&self.plan, &self.names, &self.segments)
    }
}

/// The bytes of the user's artifact holding the streams that ended from `from_ms` to `to_ms`,
/// read without the rest: its header (the first [`HEAD_READ`] bytes, or as far as it
/// reaches), then the names and the segments it says the window needs, in one more read. Both
/// reads must find the same version of the artifact (the worker may replace it in between:
/// then again, three tries in all). `None` when the user has no artifact, one of format 1, or
/// one replaced at every try (read it whole).
async fn read_window(
    state: &AppState,
    user: &User,
    from_ms: i64,
    to_ms: i64,
) -> Result<Option<WindowRead>, AppError> {
    use schema::artifact::{Header, Layout};
    let db = state.db();
    let bad =
        |e: schema::artifact::ArtifactError| AppError::Internal(format!("user {}: {e}", user.id));
    let mut head_read = HEAD_READ;
    for _ in 0..3 {
        let Some(head) =
            storage::plays::artifact_parts(db, &user.id, [(0, head_read), (0, 0)]).await?
        else {
            return Ok(None);
        };
        let [prefix, _] = &head.parts;
        Metrics::add(&state.metrics().artifact_bytes_read, prefix.len());
        let len = usize::try_from(head.len).unwrap_or(0);
        let layout = match Layout::read(prefix, len).map_err(bad)? {
            Header::Whole => return Ok(None),
            Header::Longer(n) => {
                head_read = n;
                continue;
            }
            Header::Layout(layout) => layout,
        };
        let plan = layout.window(from_ms, to_ms);
        if prefix.len() == len {
            // A short history: the first read held all of it.
            return Ok(Some(WindowRead {
                names: prefix[plan.names.clone()].to_vec(),
                segments: prefix[plan.segments.clone()].to_vec(),
                layout,
                plan,
            }));
        }
        let parts = [
            (plan.names.start, plan.names.len()),
            (plan.segments.start, plan.segments.len()),
        ];
        let Some(read) = storage::plays::artifact_parts(db, &user.id, parts).await? else {
            return Ok(None);
        };
        if read.version != head.version || read.len != head.len {
            continue;
        }
        let [names, segments] = read.parts;
        Metrics::add(
            &state.metrics().artifact_bytes_read,
            names.len() + segments.len(),
        );
        return Ok(Some(WindowRead {
            layout,
            plan,
            names,
            segments,
        }));
    }
    // Replaced at every read: the whole artifact, in one read.
    Ok(None)
}
/// Starts preparing the selection in the background unless it is prepared or being
/// prepared, with the all-time stats of everything (the default view): called when an upload
/// is seen ready, so that the dashboard the user opens next is already in memory.
pub(crate) fn warm(state: &AppState, user: &User, upload_ids: Vec<String>) {
    if state.dash().holds(user, &upload_ids) {
        return;
    }
    let (state, user) = (state.clone(), user.clone());
    tokio::spawn(async move {
        match prepared(&state, &user, &upload_ids).await {
            Ok(p) => {
                let built = tokio::task::spawn_blocking(move || {
                    p.stats(Content::All, (None, None));
                })
                .await;
                if let Err(e) = built {
                    tracing::warn!(user = %user.id, error = %e, "building the all-time stats in advance failed");
                }
            }
            Err(e) => {
                tracing::warn!(user = %user.id, error = %e, "preparing a dashboard in advance failed");
            }
        }
    });
}
