//! One message, from receive to acknowledge.
//!
//! **Idempotency.** Processing an upload replaces everything earlier for it (its plays, and its
//! owner's region stats, rebuilt from all of the owner's uploads) in one transaction,
//! and the message is deleted only after that commit. So an event delivered twice, or
//! redelivered after a worker died mid-ingest, leaves exactly one copy of each play and the
//! same stats as a single clean run.

use std::fs::File;
use std::io::BufReader;
use std::time::Duration;

use schema::event::Message;
use schema::{Settings, Stats, Status, Summary, Tz};
use storage::plays;
use storage::queue::Received;
use storage::uploads::{self, State, Upload};
use storage::users;
use tracing::{Instrument, info, info_span, warn};

use crate::Deps;

/// Bumped whenever parsing or aggregation changes what an upload yields; `backspin reingest
/// --parser-older-than` finds uploads made by older versions.
pub const PARSER_VERSION: i32 = 1;

/// Why processing did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The database or the object store is unreachable: retry later.
    Transient(String),
    /// The file itself is bad: mark the upload failed, acknowledge, notify.
    Permanent(String),
    /// Anything else (a bug, a crash while parsing): retry until the dead-letter queue takes it.
    Unexpected(String),
}

impl From<storage::db::SqlxError> for Failure {
    fn from(e: storage::db::SqlxError) -> Self {
        Failure::Transient(format!("database: {e}"))
    }
}

impl From<storage::objects::ObjectError> for Failure {
    fn from(e: storage::objects::ObjectError) -> Self {
        Failure::Transient(e.to_string())
    }
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handled (ingested, failed permanently, or nothing to do); the message was deleted.
    Acknowledged(String),
    /// Left on the queue to be received again after its visibility timeout.
    Retry(String),
}

/// Handles one received message, keeping it invisible with a heartbeat while it works, and
/// deletes it only when every upload it names has been dealt with for good.
pub async fn handle(deps: &Deps, msg: &Received) -> Outcome {
    let span = info_span!("message", id = %msg.id, receive_count = msg.receive_count);
    async {
        let heartbeat = {
            let (queue, receipt, every, visibility) = (
                deps.queue.clone(),
                msg.receipt.clone(),
                deps.settings.heartbeat_every,
                deps.settings.visibility_timeout,
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(e) = queue.extend(&receipt, visibility).await {
                        warn!(error = %e, "could not extend the message's visibility");
                    }
                }
            })
        };
        let outcome = handle_body(deps, &msg.body).await;
        heartbeat.abort();
        match outcome {
            Ok(what) => match deps.queue.delete(&msg.receipt).await {
                Ok(()) => Outcome::Acknowledged(what),
                Err(e) => {
                    Outcome::Retry(format!("done, but the message could not be deleted: {e}"))
                }
            },
            Err(why) => {
                warn!(why, "will retry");
                Outcome::Retry(why)
            }
        }
    }
    .instrument(span)
    .await
}

async fn handle_body(deps: &Deps, body: &str) -> Result<String, String> {
    match Message::parse(body) {
        Message::TestEvent => {
            info!("S3 test event: acknowledged");
            Ok("test event".into())
        }
        Message::Malformed(why) => {
            warn!(why, body = %body.chars().take(200).collect::<String>(), "malformed message: acknowledged");
            Ok(format!("malformed: {why}"))
        }
        Message::Created(keys) => {
            let mut done = Vec::new();
            for key in keys {
                match ingest_key(deps, &key).await {
                    Ok(what) => done.push(what),
                    Err(Failure::Permanent(why)) => done.push(format!("failed: {why}")),
                    Err(Failure::Transient(why) | Failure::Unexpected(why)) => return Err(why),
                }
            }
            Ok(done.join("; "))
        }
    }
}

/// Ingests the upload stored under `key`. A permanent failure has already been recorded on the
/// upload (and the admins told) when this returns it.
pub async fn ingest_key(deps: &Deps, key: &str) -> Result<String, Failure> {
    let Some(upload) = uploads::by_key(&deps.db, key).await? else {
        warn!(key, "event for an unknown key: acknowledged");
        return Ok("unknown key".into());
    };
    let span = info_span!("upload", upload = %upload.id, owner = %upload.owner_id);
    async {
        if upload.state == State::Deleting {
            return Ok("being deleted".into());
        }
        uploads::set_state(&deps.db, &upload.id, State::Processing, None).await?;
        match ingest(deps, &upload).await {
            Err(Failure::Permanent(why)) => {
                // No row changed: the upload was deleted (or is being deleted) meanwhile, which
                // is why its file is gone; nothing to record, nobody to alert.
                if !fail(deps, &upload, &why).await? {
                    info!(why, "upload deleted while it was being ingested");
                    return Ok("deleted meanwhile".into());
                }
                warn!(why, "upload failed");
                deps.notifier
                    .notify(
                        "Backspin: an upload could not be read",
                        &format!(
                            "Upload {} ({:?}) failed: {why}",
                            upload.id, upload.original_name
                        ),
                    )
                    .await;
                Err(Failure::Permanent(why))
            }
            other => other,
        }
    }
    .instrument(span)
    .await
}

/// An upload's plays, deduplicated, with their stream digests. Its stats are built later,
/// beside the write of the plays.
struct Parsed {
    lib: schema::Library,
    report: schema::DedupeReport,
    digests: Vec<[u8; 16]>,
}

async fn ingest(deps: &Deps, upload: &Upload) -> Result<String, Failure> {
    let Some(fetched) = deps.store.fetch(&upload.object_key).await? else {
        return Err(Failure::Permanent(
            "the uploaded file is gone (it was deleted before it could be read)".into(),
        ));
    };
    if upload.checksum.is_empty() {
        record_direct_upload(deps, upload, &fetched).await?;
    }
    let Some(user) = users::by_id(&deps.db, &upload.owner_id).await? else {
        return Ok("owner gone".into());
    };
    let settings = settings_of(&user);
    let (name, limits) = (upload.original_name.clone(), deps.limits);
    let started = std::time::Instant::now();
    let parsed = tokio::task::spawn_blocking(move || parse(&fetched, name, &limits))
        .await
        .map_err(|e| Failure::Unexpected(format!("the parser crashed: {e}")))??;
    let parse_ms = started.elapsed().as_millis();
    let plays = parsed.lib.plays.len();
    commit(deps, upload, parsed, settings).await?;
    info!(
        plays,
        parse_ms,
        total_ms = started.elapsed().as_millis() as u64,
        "upload ready"
    );
    Ok(format!("ready: {plays} plays"))
}

/// A file the browser posted straight to the store (S3's presigned POST) reaches the worker
/// before anyone measured it: record its size and checksum, and refuse it when it is larger
/// than the upload limit. The policy's `content-length-range` already asks S3 to refuse
/// those; this is the check that does not depend on the store honouring it.
async fn record_direct_upload(
    deps: &Deps,
    upload: &Upload,
    fetched: &storage::objects::Fetched,
) -> Result<(), Failure> {
    let path = fetched.path.clone();
    let (size, sha256) = tokio::task::spawn_blocking(move || storage::objects::sha256_file(&path))
        .await
        .map_err(|e| Failure::Unexpected(format!("hashing the upload crashed: {e}")))?
        .map_err(|e| Failure::Unexpected(format!("reading the fetched upload: {e}")))?;
    if size > deps.max_upload_bytes {
        if let Err(e) = deps.store.delete(&upload.object_key).await {
            warn!(error = %e, "removing an oversized upload's file");
        }
        return Err(Failure::Permanent(format!(
            "the file is larger than the upload limit of {} MiB; it was removed",
            deps.max_upload_bytes >> 20
        )));
    }
    uploads::set_object(&deps.db, &upload.id, size, &sha256).await?;
    if upload.expires_ms.is_some() {
        crate::lifecycle::mark_expiring(deps, &upload.object_key, true).await;
    }
    Ok(())
}

fn parse(
    fetched: &storage::objects::Fetched,
    name: String,
    limits: &schema::Limits,
) -> Result<Parsed, Failure> {
    let path = fetched.path.clone();
    let t0 = std::time::Instant::now();
    let mut lib = schema::load(&[name], |_| File::open(&path).map(BufReader::new), limits);
    let load_ms = t0.elapsed().as_millis() as u64;
    if !lib.files.iter().any(|f| f.status == Status::Used) {
        return Err(Failure::Permanent(no_history_reason(&lib)));
    }
    let report = schema::dedupe(&mut lib.plays);
    if lib.plays.is_empty() {
        return Err(Failure::Permanent(
            "the listening history in it holds no streams".into(),
        ));
    }
    let dedupe_ms = t0.elapsed().as_millis() as u64 - load_ms;
    let digests = lib
        .plays
        .iter()
        .map(|p| schema::dedupe::stream_digest(p, &lib.strings))
        .collect();
    tracing::debug!(
        load_ms,
        dedupe_ms,
        digests_ms = t0.elapsed().as_millis() as u64 - load_ms - dedupe_ms,
        "parsed"
    );
    Ok(Parsed {
        lib,
        report,
        digests,
    })
}

/// A reason a person can act on: what was in the file instead of a history.
fn no_history_reason(lib: &schema::Library) -> String {
    let mut parts: Vec<String> = lib
        .files
        .iter()
        .filter(|f| f.status == Status::Failed || f.name.to_ascii_lowercase().ends_with(".json"))
        .take(3)
        .map(|f| {
            format!(
                "{}: {}",
                f.name.rsplit('/').next().unwrap_or(&f.name),
                f.message.as_deref().unwrap_or("")
            )
        })
        .collect();
    if parts.is_empty() {
        parts.push("it holds no JSON files".into());
    }
    format!(
        "no Spotify listening history found ({}). Upload my_spotify_data.zip or its StreamingHistory / Streaming_History / endsong JSON files",
        parts.join("; ")
    )
}

async fn commit(
    deps: &Deps,
    upload: &Upload,
    parsed: Parsed,
    settings: Settings,
) -> Result<(), Failure> {
    let Parsed {
        lib,
        report,
        digests,
    } = parsed;
    let started = std::time::Instant::now();
    // The upload's stats (for its summary, and when it is its owner's only upload, the usual
    // first upload, its one region, serialised here too) are built on another thread while
    // its plays are written. Should another upload appear meanwhile, the rebuild below
    // notices and builds the regions from the plays instead.
    let solo = uploads::list_for_owner(&deps.db, &upload.owner_id)
        .await?
        .iter()
        .all(|u| {
            u.id == upload.id
                || matches!(u.state, uploads::State::Failed | uploads::State::Deleting)
        });
    let lib = std::sync::Arc::new(lib);
    let own = {
        let (lib, id) = (lib.clone(), upload.id.clone());
        tokio::task::spawn_blocking(move || {
            let stats = Stats::build(&lib.plays, settings);
            let summary = serde_json::to_string(&Summary::new(&lib, &report, &stats));
            let region = solo.then(|| crate::regions::region(id, &stats, &lib.strings));
            (stats, summary, region)
        })
    };
    let mut tx = deps.db.begin().await?;
    plays::lock_user(&mut tx, &upload.owner_id).await?;
    plays::replace_for_upload(
        &mut tx,
        &upload.id,
        &upload.owner_id,
        &lib.plays,
        &digests,
        &lib.strings,
    )
    .await?;
    let plays_ms = started.elapsed().as_millis() as u64;
    let (stats, summary, own_region) = own
        .await
        .map_err(|e| Failure::Unexpected(format!("building stats: {e}")))?;
    let summary = summary.map_err(|e| Failure::Unexpected(format!("summary: {e}")))?;
    let mut lib = std::sync::Arc::try_unwrap(lib)
        .map_err(|_| Failure::Unexpected("the plays are still shared".into()))?;
    let current = Some((upload.id.as_str(), lib.plays.as_slice(), digests.as_slice()));
    rebuild_stats(
        &mut tx,
        &upload.owner_id,
        &upload.id,
        current,
        Own {
            stats: Some(&stats),
            region: own_region,
        },
        &mut lib.strings,
        settings,
    )
    .await?;
    let stats_ms = started.elapsed().as_millis() as u64 - plays_ms;
    if uploads::mark_ready(&mut tx, &upload.id, &summary, PARSER_VERSION).await? {
        tx.commit().await?;
        info!(
            plays_ms,
            stats_ms,
            commit_ms = started.elapsed().as_millis() as u64,
            "committed"
        );
    } else {
        // Deleted while we worked: leave nothing behind.
        tx.rollback().await?;
    }
    Ok(())
}

/// Marks an upload failed. Plays an earlier ingest left (a re-ingest the current parser
/// refuses) go in the same transaction, with the owner's stats rebuilt without them, so a
/// failed upload never counts. Returns false when the upload is being deleted.
async fn fail(deps: &Deps, upload: &Upload, why: &str) -> Result<bool, Failure> {
    let mut tx = deps.db.begin().await?;
    drop_plays(deps, &mut tx, upload).await?;
    let changed = uploads::set_failed(&mut tx, &upload.id, why).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Deletes an upload's plays inside `tx` and, when it had any, rebuilds its owner's stats
/// without them (the owner's row locked for the transaction).
pub(crate) async fn drop_plays(
    deps: &Deps,
    tx: &mut storage::Tx,
    upload: &Upload,
) -> Result<(), storage::db::SqlxError> {
    plays::lock_user(tx, &upload.owner_id).await?;
    if plays::delete_for_upload(tx, &upload.id).await? > 0
        && let Some(user) = users::by_id(&deps.db, &upload.owner_id).await?
    {
        let mut strings = schema::Strings::default();
        rebuild_stats(
            tx,
            &upload.owner_id,
            &upload.id,
            None,
            Own::default(),
            &mut strings,
            settings_of(&user),
        )
        .await?;
    }
    Ok(())
}

/// Rebuilds a user's stats from their stored plays under their current settings (time zone,
/// play threshold), without fetching or parsing any file: what a settings change runs.
pub async fn restat_user(deps: &Deps, user: &users::User) -> Result<(), storage::db::SqlxError> {
    let mut tx = deps.db.begin().await?;
    plays::lock_user(&mut tx, &user.id).await?;
    let mut strings = schema::Strings::default();
    rebuild_stats(
        &mut tx,
        &user.id,
        "",
        None,
        Own::default(),
        &mut strings,
        settings_of(user),
    )
    .await?;
    tx.commit().await
}

/// An upload's plays held in memory: its id, its plays and their stream digests.
pub(crate) type Current<'a> = (&'a str, &'a [schema::Play], &'a [[u8; 16]]);

/// What is already known of the current upload's own stats: built by its parse, or already
/// serialised as its one region (when it was expected to be its owner's only upload).
#[derive(Debug, Default)]
pub(crate) struct Own<'a> {
    stats: Option<&'a Stats>,
    region: Option<storage::plays::RegionStats>,
}

/// Rewrites a user's region stats from the plays of their uploads (all but those being deleted
/// and `except`; failed uploads keep no plays), plus `current` (an upload being committed in
/// this transaction, given from memory, with what is known of its own stats).
pub(crate) async fn rebuild_stats(
    tx: &mut storage::Tx,
    owner_id: &str,
    except: &str,
    current: Option<Current<'_>>,
    own: Own<'_>,
    strings: &mut schema::Strings,
    settings: Settings,
) -> Result<(), storage::db::SqlxError> {
    let started = std::time::Instant::now();
    let others = plays::load_for_user(tx, owner_id, except, strings).await?;
    let load_ms = started.elapsed().as_millis() as u64;
    let mine = current
        .into_iter()
        .flat_map(|(id, ps, keys)| ps.iter().zip(keys).map(move |(p, k)| (id, *k, *p)));
    let members = mine.chain(others.iter().map(|o| (o.upload_id.as_str(), o.key, o.play)));
    // Every stream once with its region: the artifact the dashboards read, and (unless the
    // parse already built them) the region stats.
    let streams = crate::regions::streams_by_region(members);
    let regions = match (current, own) {
        // The owner's only upload: one region, whose stats the parse already built.
        (
            Some(_),
            Own {
                region: Some(r), ..
            },
        ) if others.is_empty() => vec![r],
        (
            Some((id, _, _)),
            Own {
                stats: Some(stats), ..
            },
        ) if others.is_empty() => {
            vec![crate::regions::region(id.to_string(), stats, strings)]
        }
        _ => crate::regions::stats_of_regions(&streams, strings, settings),
    };
    let regions_ms = started.elapsed().as_millis() as u64 - load_ms;
    let artifact = schema::Artifact::build(streams, strings);
    let bytes = artifact.encode();
    tracing::debug!(
        others = others.len(),
        load_ms,
        regions_ms,
        artifact_ms = started.elapsed().as_millis() as u64 - load_ms - regions_ms,
        artifact_bytes = bytes.len(),
        doc_bytes = regions.iter().map(|r| r.doc.len()).sum::<usize>(),
        "region stats and artifact rebuilt"
    );
    plays::replace_stats(tx, owner_id, &regions).await?;
    plays::replace_artifact(
        tx,
        owner_id,
        schema::artifact::FORMAT,
        artifact.plays.len(),
        &bytes,
    )
    .await
}

/// The dashboard settings of a user.
pub(crate) fn settings_of(user: &users::User) -> Settings {
    Settings {
        tz: user.tz.parse().unwrap_or(Tz::UTC),
        min_play_ms: user.min_play_ms.max(0) as u64,
        ..Settings::default()
    }
}

/// Marks the uploads named by dead-lettered messages failed and tells the admins.
pub async fn dead_lettered(deps: &Deps, dead: &[Received]) {
    for msg in dead {
        let keys = match Message::parse(&msg.body) {
            Message::Created(keys) => keys,
            _ => vec![],
        };
        for key in &keys {
            if let Ok(Some(u)) = uploads::by_key(&deps.db, key).await {
                let why = format!(
                    "could not be processed after {} attempts; the administrators have been told",
                    msg.receive_count
                );
                let _ = uploads::set_state(&deps.db, &u.id, State::Failed, Some(&why)).await;
            }
        }
        deps.notifier
            .notify(
                "Backspin: a message was dead-lettered",
                &format!(
                    "Message {} for {:?} failed {} times and was moved to the dead-letter queue.",
                    msg.id, keys, msg.receive_count
                ),
            )
            .await;
    }
}

/// Receives and handles messages until `stop` says so; the message in hand is always finished.
pub async fn consume(
    deps: &Deps,
    stop: &tokio::sync::watch::Receiver<bool>,
    wait: Duration,
    busy: &std::sync::atomic::AtomicU64,
) {
    let mut backoff = Duration::from_millis(200);
    while !*stop.borrow() {
        match deps
            .queue
            .receive(
                deps.settings.batch_size,
                wait,
                deps.settings.visibility_timeout,
            )
            .await
        {
            Ok(batch) => {
                backoff = Duration::from_millis(200);
                dead_lettered(deps, &batch.dead_lettered).await;
                for msg in &batch.messages {
                    busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let outcome = handle(deps, msg).await;
                    busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    info!(?outcome, "message handled");
                }
            }
            Err(e) => {
                warn!(error = %e, "receive failed; backing off");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
